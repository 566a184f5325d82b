"""Leak test: unique canaries in every non-public field and section must never reach a
public output — pages, feeds, API answers, the signed documents, or the log files.

The PUBLIC section of each report carries a marker that must appear (so the scan is
known to look at the places where public text does go)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session

from authority.disclosure.store import latest_disclosures
from policies.engine import PolicyEngine
from tests.unit.disclosure.support import LocalAuthority, local_authority, report, write_pack

FIELDS = (
    "TITLE",
    "SUMMARY",
    "MODELFAMILY",
    "MODELVERSION",
    "SURFACE",
    "SAFEGUARD",
    "MITIGATION",
    "SHHEAD",
    "SHAREABLE",
    "AOHEAD",
    "AUTHORITYONLY",
)


def permissive_disclosure_pack(directory: Path) -> Path:
    """Everything disclosable at once (no embargo, no approval, one lab): the strictest
    setting for a leak test, since every case is published."""

    def change(document: dict[str, object]) -> None:
        rules = document["rules"]
        assert isinstance(rules, list)
        document["rules"] = [{"id": "everything-now", "when": {}, "embargo_days": 0}]
        minimum = document["minimum_labs"]
        assert isinstance(minimum, dict)
        minimum["labs"] = 1

    return write_pack(directory, "disclosure", change)


def public_outputs(authority: LocalAuthority, log_file: Path) -> dict[str, str]:
    client = authority.dashboard()
    outputs: dict[str, str] = {}
    for path in (
        "/",
        "/audit",
        "/feed.json",
        "/feed.atom",
        "/api/disclosures",
        "/api/tree-head",
        "/api/summary",
        "/?harm_domain=CYBER",
        "/?kind=NEAR_MISS",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        outputs[path] = response.text
    with Session(authority.app.engine) as session:
        rows = latest_disclosures(session)
    for row in rows:
        for path in (f"/cases/{row.case_id}", f"/api/disclosures/{row.case_id}"):
            outputs[path] = client.get(path).text
        outputs[f"payload {row.case_id}"] = bytes(row.payload).decode()
    outputs["log file"] = log_file.read_text()
    return outputs


def test_no_canary_reaches_any_public_output(tmp_path: Path) -> None:
    authority = local_authority(tmp_path / "net")
    canaries = [f"CANARY{uuid.uuid4().hex[:10].upper()}" for _ in range(3)]
    markers = [f"PUBLICMARK{uuid.uuid4().hex[:8]}" for _ in canaries]
    log_file = tmp_path / "authority.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        for (lab, domains, kind), canary, marker in zip(
            [
                ("lab-aurora", ("CYBER",), "INCIDENT"),
                ("lab-borealis", ("PRIVACY", "MANIPULATION_FRAUD"), "NEAR_MISS"),
                ("lab-cygnus", ("CHILD_SAFETY",), "INCIDENT"),
            ],
            canaries,
            markers,
            strict=True,
        ):
            authority.file(
                report(
                    lab,
                    domains=domains,
                    kind=kind,
                    canary=canary,
                    public_text=f"Public account {marker}.",
                )
            )
        policies = PolicyEngine(disclosure=permissive_disclosure_pack(tmp_path), reload_seconds=0)
        result = authority.job(policies).run_once()
        assert len(result.published) == 3
        outputs = public_outputs(authority, log_file)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()
    everything = "\n".join(outputs.values())
    for marker in markers:
        assert marker in everything, "the scan must see public text where it is published"
    for canary in canaries:
        for where, text in outputs.items():
            assert canary.lower() not in text.lower(), f"canary {canary} leaked into {where}"
            for field in FIELDS:
                assert f"{canary}-{field}" not in text, f"{field} leaked into {where}"


@pytest.mark.parametrize("allow", ["title", "summary"])
def test_title_and_summary_are_public_only_when_the_pack_says_so(
    tmp_path: Path, allow: str
) -> None:
    authority = local_authority(tmp_path / "net")
    canary = f"CANARY{uuid.uuid4().hex[:10].upper()}"
    authority.file(report("lab-aurora", canary=canary))
    pack = permissive_disclosure_pack(tmp_path)
    pack.write_text(pack.read_text().replace(f"{allow}: false", f"{allow}: true"))
    authority.job(PolicyEngine(disclosure=pack, reload_seconds=0)).run_once()
    text = authority.dashboard().get("/api/disclosures").text
    assert f"{canary}-{allow.upper()}" in text
    other = "SUMMARY" if allow == "title" else "TITLE"
    assert f"{canary}-{other}" not in text and f"{canary}-SHAREABLE" not in text
