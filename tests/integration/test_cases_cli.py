"""Two labs file the same phishing campaign in their own words to a real authority over
mutual TLS; the authority (real MiniLM model) links them into one case, and an analyst
sees both reports and the evidence with ``nearmiss authority cases``."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from authority.cases.commands import case_stub
from nearmiss.devnet import DevNetwork
from nearmiss.reportfile import load_report
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import cases_pb2
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES, REPO
from tests.integration.network import AuthorityProcess, nearmiss_command, subprocess_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOREALIS = EXAMPLES / "inc-cyber-phishing-campaign.yaml"
AURORA = EXAMPLES / "inc-cyber-phishing-campaign-aurora.yaml"
UNRELATED = EXAMPLES / "nm-agent-oversight-tampering.yaml"
LINK_WAIT_S = 240.0  # the authority loads the model on its first batch


def cases_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env() | {"COLUMNS": "300"}
    return subprocess.run(
        nearmiss_command("authority", "cases", *args),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


def submit(network: DevNetwork, lab: str, path: Path, address: str) -> str:
    """File an example as ``lab`` does: stamped, signed, over mutual TLS; verified receipt."""
    config = NodeConfig.load(network.node_config_path(lab))
    report = prepare_for_sending(load_report(path), lab_id=lab)
    signed = sign_report(report, SigningKey.from_file(config.signing_key_path))
    with GrpcAuthorityClient.connect(address, config.tls) as client:
        receipt = client.submit(signed)
    assert receipt.statement.report_id == report.report_id
    return report.report_id


def wait_for_case_of(
    address: str, identity: Path, report_ids: set[str]
) -> tuple[cases_pb2.CaseSummary, float]:
    """Poll until every report is linked and one case holds ``report_ids`` (bounded)."""
    started = time.monotonic()
    with case_stub(address, identity, None, "localhost") as stub:
        while time.monotonic() - started < LINK_WAIT_S:
            listing = stub.ListCases(cases_pb2.ListCasesRequest(), timeout=30)
            for summary in [] if listing.unlinked_reports else listing.cases:
                case = stub.GetCase(cases_pb2.GetCaseRequest(case=summary.case_id), timeout=30)
                if report_ids <= {r.report_id for r in case.reports}:
                    return summary, time.monotonic() - started
            time.sleep(0.2)
    raise AssertionError(f"no case held {sorted(report_ids)} after {LINK_WAIT_S} s")


@pytest.mark.parametrize("database_url", ["sqlite:///authority.db"], indirect=False)
def test_two_labs_one_case_shown_to_an_analyst(
    network: DevNetwork, authority: AuthorityProcess
) -> None:
    analyst = network.directory / "analyst"
    connect = ("--authority", authority.address, "--identity", str(analyst))
    # A first report makes the authority load its model; then the campaign arrives.
    unrelated = submit(network, "lab-aurora", UNRELATED, authority.address)
    wait_for_case_of(authority.address, analyst, {unrelated})
    borealis = submit(network, "lab-borealis", BOREALIS, authority.address)
    aurora = submit(network, "lab-aurora", AURORA, authority.address)
    summary, waited = wait_for_case_of(authority.address, analyst, {borealis, aurora})
    print(f"case of both reports visible {waited:.2f} s after the last receipt")

    shown = cases_cli("show", str(summary.case_number), *connect, "--json")
    assert shown.returncode == 0, shown.stderr
    case = json.loads(shown.stdout)
    assert {r["report_id"] for r in case["reports"]} == {borealis, aurora}
    assert {r["lab_id"] for r in case["reports"]} == {"lab-aurora", "lab-borealis"}
    last = next(r for r in case["reports"] if r["report_id"] == aurora)
    lag = datetime.fromisoformat(last["linked_at"]) - datetime.fromisoformat(last["received_at"])
    print(f"linked {lag.total_seconds():.3f} s after it was received")
    (evidence,) = case["evidence"]
    assert (evidence["report_id"], evidence["matched_report_id"]) == (aurora, borealis)
    assert evidence["method"] == "embedding" and evidence["score"] >= 0.75
    assert {"type": "DOMAIN", "value": "secure-verify-account.example"} in evidence[
        "shared_indicators"
    ]

    table = cases_cli("show", summary.case_id, *connect)
    assert table.returncode == 0, table.stderr
    assert "why they are linked" in table.stdout and "embedding" in table.stdout
    assert borealis in table.stdout and aurora in table.stdout

    listing = cases_cli("list", *connect, "--json")
    assert listing.returncode == 0, listing.stderr
    listed = json.loads(listing.stdout)
    assert int(listed["total"]) == 2  # the campaign, and the unrelated report alone

    split = cases_cli(
        "split", str(summary.case_number), aurora, "--reason", "checking the split", *connect
    )
    assert split.returncode == 0, split.stderr
    assert "new case" in split.stdout

    lab = network.directory / "lab-aurora"
    refused = cases_cli("list", "--authority", authority.address, "--identity", str(lab))
    assert refused.returncode != 0
    assert "may not call ListCases" in refused.stderr
