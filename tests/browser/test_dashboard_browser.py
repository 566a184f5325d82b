"""The dashboard in Debian's chromium, driven by Playwright, served by a real authority
process (gRPC + uvicorn) fed over mutual TLS. See docs/DEVELOPERS.md.

Set NEARMISS_SCREENSHOT_DIR to keep the screenshots (CI uploads them)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nearmiss.devnet import DevNetwork
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.signer import prepare_for_sending
from tests.integration.network import AuthorityProcess, free_port, make_network, start_authority
from tests.unit.disclosure.support import open_disclosure_pack, report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]
STORIES = [
    ("lab-aurora", ("CYBER",), 4, "INCIDENT", "A phishing kit was generated and caught."),
    ("lab-borealis", ("PRIVACY",), 2, "NEAR_MISS", "An agent almost forwarded a mailbox."),
    ("lab-cygnus", ("MANIPULATION_FRAUD",), 3, "INCIDENT", "A cloned voice was used in a scam."),
    ("lab-aurora", ("UNEXPECTED_CAPABILITY",), 2, "NEAR_MISS", "A model found a sandbox gap."),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, AuthorityProcess]]:
    directory = tmp_path_factory.mktemp("browser")
    network: DevNetwork = make_network(directory / "net")
    pack = open_disclosure_pack(directory)
    port = free_port()
    config = network.authority_config_path()
    config.write_text(
        config.read_text()
        + f'\n[dashboard]\nlisten = "127.0.0.1:{port}"\n'
        + "\n[disclosure]\ninterval_seconds = 1\n"
        + f'\n[policies]\ndisclosure = "{pack}"\n'
    )
    authority = start_authority(config, directory / "authority.log")
    try:
        for lab, domains, severity, kind, text in STORIES:
            node = NodeConfig.load(network.node_config_path(lab))
            key = SigningKey.from_file(node.signing_key_path)
            filed = prepare_for_sending(
                report(lab, domains=domains, severity=severity, kind=kind, public_text=text),
                lab_id=lab,
            )
            with GrpcAuthorityClient.connect(authority.address, node.tls) as client:
                client.submit(sign_report(filed, key))
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while httpx.get(base + "api/disclosures").json()["count"] < len(STORIES):
            assert time.monotonic() < deadline, authority.output()
            time.sleep(0.5)
        yield base, authority
    finally:
        authority.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("NEARMISS_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def test_load_filter_open_case_and_screenshot(
    served: tuple[str, AuthorityProcess], browser: Any, tmp_path: Path
) -> None:
    base, authority = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(base)
    assert page.locator("h1").inner_text() == "AI incidents and near-misses, disclosed"
    assert page.locator('[data-figure="reports"]').inner_text() == str(len(STORIES))
    assert page.locator("ol.cards > li").count() == len(STORIES)
    assert page.locator("svg.chart rect.bar").count() == 12
    shot = screenshot_path(tmp_path, "dashboard.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.select_option("#filter-kind", "NEAR_MISS")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**kind=NEAR_MISS**")
    assert page.locator("ol.cards > li").count() == 2
    assert "A phishing kit" not in page.content()
    page.screenshot(path=str(screenshot_path(tmp_path, "dashboard-filtered.png")), full_page=True)

    page.click("ol.cards > li:first-child h3 a")
    page.wait_for_url("**/cases/c-*")
    assert page.locator("h2#versions-heading").is_visible()
    assert page.locator("table.log tbody tr").count() == 1
    page.screenshot(path=str(screenshot_path(tmp_path, "case.png")), full_page=True)

    page.click("text=Audit the log")
    page.wait_for_url("**/audit")
    assert page.locator('[data-figure="sth-size"]').inner_text() == str(len(STORIES))
    assert all(url.startswith(base) for url in requests), "the dashboard fetched from elsewhere"
    assert authority.is_running()
    page.close()


def test_keyboard_user_can_skip_to_content_and_filter(
    served: tuple[str, AuthorityProcess], browser: Any
) -> None:
    base, _ = served
    page = browser.new_page()
    page.goto(base)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.focus("#filter-harm_domain")
    page.select_option("#filter-harm_domain", "CYBER")
    page.focus("form.filters button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**harm_domain=CYBER**")
    assert page.locator("ol.cards > li").count() == 1
    assert page.get_by_role("status").inner_text().startswith("1 disclosure")
    page.close()
