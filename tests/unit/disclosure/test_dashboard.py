"""The dashboard app over a real database: pages, filters, API, feeds, tree head."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from authority.disclosure.document import PublishedDisclosure
from nearmiss.proofs import verify_tree_head
from nearmiss.v1 import log_pb2
from policies.engine import PolicyEngine
from tests.unit.disclosure.support import (
    LocalAuthority,
    local_authority,
    open_disclosure_pack,
    report,
)

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalAuthority, TestClient]:
    directory = tmp_path_factory.mktemp("dashboard")
    authority = local_authority(directory / "net")
    authority.file(report("lab-aurora", domains=("CYBER",), severity=4, public_text="Cyber story."))
    authority.file(
        report(
            "lab-borealis",
            domains=("PRIVACY",),
            severity=2,
            kind="NEAR_MISS",
            public_text="Privacy story.",
        )
    )
    authority.file(report("lab-cygnus", domains=("CHILD_SAFETY",), severity=3))
    policies = PolicyEngine(disclosure=open_disclosure_pack(directory), reload_seconds=0)
    authority.job(policies).run_once()
    return authority, authority.dashboard()


def test_front_page_shows_figures_chart_and_disclosures(
    site: tuple[LocalAuthority, TestClient],
) -> None:
    _, client = site
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'data-figure="reports">3<' in html and 'data-figure="disclosures">2<' in html
    assert "<svg" in html and "Cyber story." in html and "Privacy story." in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing remote


def test_filters_narrow_the_list(site: tuple[LocalAuthority, TestClient]) -> None:
    _, client = site
    cyber = client.get("/api/disclosures", params={"harm_domain": "CYBER"}).json()
    assert [d["document"]["harm_domains"] for d in cyber["disclosures"]] == [["CYBER"]]
    near = client.get("/", params={"kind": "NEAR_MISS"}).text
    assert "Privacy story." in near and "Cyber story." not in near
    high = client.get("/api/disclosures", params={"severity": "high"}).json()
    assert high["count"] == 1
    assert client.get("/api/disclosures", params={"period": "4w"}).json()["count"] == 2
    assert client.get("/api/disclosures", params={"period": "1999"}).json()["count"] == 0
    ignored = client.get("/api/disclosures", params={"harm_domain": "<script>"}).json()
    assert ignored["count"] == 2


def test_case_page_and_case_api(site: tuple[LocalAuthority, TestClient]) -> None:
    authority, client = site
    listing = client.get("/api/disclosures").json()["disclosures"]
    case_id = listing[0]["document"]["case_id"]
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Versions" in page.text
    versions = client.get(f"/api/disclosures/{case_id}").json()["versions"]
    signed = versions[0]
    payload = json.dumps(
        signed["document"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    PublishedDisclosure(
        payload, base64.b64decode(signed["signature"]), signed["signing_key_id"]
    ).verify(authority.app.signing_key.verifying_key)
    assert client.get("/cases/c-0000000000000000").status_code == 404
    assert client.get("/api/disclosures/c-0000000000000000").status_code == 404


def test_feeds_are_valid_and_list_the_disclosures(site: tuple[LocalAuthority, TestClient]) -> None:
    _, client = site
    feed = client.get("/feed.json")
    assert feed.headers["content-type"].startswith("application/feed+json")
    body = feed.json()
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    assert len(body["items"]) == 2 and all(
        i["id"].startswith("urn:nearmiss:") for i in body["items"]
    )
    atom = client.get("/feed.atom")
    root = ET.fromstring(atom.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    assert all(
        e.find(f"{ATOM}id") is not None and e.find(f"{ATOM}updated") is not None for e in entries
    )


def test_tree_head_verifies_with_the_authority_key(site: tuple[LocalAuthority, TestClient]) -> None:
    authority, client = site
    head = client.get("/api/tree-head").json()
    assert head["tree_size"] == 3
    message = log_pb2.SignedTreeHead(
        tree_size=head["tree_size"],
        root_hash=bytes.fromhex(head["root_hash"]),
        signature=base64.b64decode(head["signature"]),
        authority_key_id=head["authority_key_id"],
    )
    message.timestamp.seconds = head["timestamp_ms"] // 1000
    message.timestamp.nanos = (head["timestamp_ms"] % 1000) * 1_000_000
    verify_tree_head(message, authority.app.signing_key.verifying_key)
    audit = client.get("/audit").text
    assert head["root_hash"] in audit and "nearmiss audit --authority" in audit


def test_static_assets_ship_with_the_package(
    site: tuple[LocalAuthority, TestClient], tmp_path: Path
) -> None:
    _, client = site
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(" not in css.text
