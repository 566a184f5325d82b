"""``nearmiss authority cases list|show|merge|split``: an analyst's view of cases.

Rules: the commands talk to the running authority over gRPC with mutual TLS as an
ANALYST (``--identity`` is a party directory from ``nearmiss pki init``), so they work
from an analyst's machine and every merge or split is recorded under the analyst's
certificate identity. ``--json`` prints the CaseService message as JSON for scripts.
Errors from the authority come back as our own errors (``nearmiss.rpc_errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TypeVar

import grpc
import typer
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.table import Table

from nearmiss.config import TlsFiles
from nearmiss.console import stdout
from nearmiss.rpc_errors import error_for
from nearmiss.v1 import cases_pb2, cases_pb2_grpc

DEADLINE_S = 30.0
T = TypeVar("T")

cases_app = typer.Typer(help="Incident cases: list, show, merge, split.", no_args_is_help=True)

AuthorityOption = typer.Option(..., "--authority", help="the authority's HOST:PORT")
IdentityOption = typer.Option(
    ..., "--identity", help="an analyst directory from `pki init` (tls.pem, tls.key)"
)
CaOption = typer.Option(None, "--ca", help="the network CA (default: IDENTITY/../ca/ca.pem)")
ServerNameOption = typer.Option("localhost", "--server-name")
JsonOption = typer.Option(False, "--json", help="print the message as JSON")


@contextmanager
def case_stub(
    authority: str, identity: Path, ca: Path | None, server_name: str
) -> Iterator[cases_pb2_grpc.CaseServiceStub]:
    tls = TlsFiles(
        ca_certificate=ca or identity.parent / "ca" / "ca.pem",
        certificate=identity / "tls.pem",
        private_key=identity / "tls.key",
    )
    root, chain, key = tls.read()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=chain
    )
    channel = grpc.secure_channel(
        authority,
        credentials,
        options=[
            ("grpc.ssl_target_name_override", server_name),
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        ],
    )
    try:
        yield cases_pb2_grpc.CaseServiceStub(channel)
    finally:
        channel.close()


def call(rpc: Callable[[], T]) -> T:
    try:
        return rpc()
    except grpc.RpcError as error:
        raise error_for(error.code(), error.details() or "") from None


def _when(stamp: Timestamp) -> str:
    if not stamp.seconds and not stamp.nanos:
        return "-"
    return stamp.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds")


def _print_json(message: Message) -> None:
    print(MessageToJson(message, preserving_proto_field_name=True, indent=2))


@cases_app.command("list")
def list_command(
    authority: str = AuthorityOption,
    identity: Path = IdentityOption,
    ca: Path | None = CaOption,
    server_name: str = ServerNameOption,
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    before: int = typer.Option(0, "--before", help="page: cases numbered below this"),
    min_reports: int = typer.Option(1, "--min-reports", help="only cases this large"),
    as_json: bool = JsonOption,
) -> None:
    """Open cases, newest first."""
    request = cases_pb2.ListCasesRequest(
        limit=limit, before_case_number=before, min_reports=min_reports
    )
    with case_stub(authority, identity, ca, server_name) as stub:
        response = call(lambda: stub.ListCases(request, timeout=DEADLINE_S))
    if as_json:
        _print_json(response)
        return
    table = Table(
        title=f"{response.total} open cases ({response.unlinked_reports} reports not linked yet)",
        title_justify="left",
    )
    for column in (
        "case",
        "public id",
        "reports",
        "labs",
        "severity",
        "domains",
        "updated",
        "title",
    ):
        table.add_column(column)
    for case in response.cases:
        table.add_row(
            str(case.case_number),
            case.case_id,
            str(case.report_count),
            str(case.lab_count),
            str(case.max_severity),
            " ".join(case.harm_domains),
            _when(case.updated_at),
            case.title,
        )
    stdout.print(table)


def print_case(case: cases_pb2.Case, *, heading: str = "case") -> None:
    s = case.summary
    stdout.print(
        f"[bold]{heading} {s.case_number}[/] ({s.case_id}): {s.report_count} reports from "
        f"{s.lab_count} labs, severity {s.max_severity}, {' '.join(s.harm_domains)}",
        soft_wrap=True,
    )
    reports = Table(title="reports", title_justify="left")
    for column in ("report", "lab", "kind", "sev", "received", "linked", "title"):
        reports.add_column(column)
    for r in case.reports:
        reports.add_row(
            r.report_id,
            r.lab_id,
            r.kind,
            str(r.severity),
            _when(r.received_at),
            _when(r.linked_at),
            r.title,
        )
    stdout.print(reports)
    evidence = Table(title="why they are linked", title_justify="left")
    for column in (
        "report",
        "matched",
        "method",
        "score",
        "cosine",
        "lexical",
        "days apart",
        "shared indicators",
    ):
        evidence.add_column(column)
    for e in case.evidence:
        evidence.add_row(
            e.report_id[:8],
            e.matched_report_id[:8],
            e.method,
            f"{e.score:.3f}",
            f"{e.cosine:.3f}",
            f"{e.lexical:.3f}",
            str(e.date_gap_days) if e.HasField("date_gap_days") else "-",
            ", ".join(f"{i.type}={i.value}" for i in e.shared_indicators) or "-",
        )
    stdout.print(
        evidence if case.evidence else "no algorithmic links (one report, or merged by hand)"
    )
    if case.decisions:
        decisions = Table(title="analysts' decisions", title_justify="left")
        for column in ("kind", "cases", "by", "at", "active", "reason"):
            decisions.add_column(column)
        for d in case.decisions:
            decisions.add_row(
                d.kind,
                f"{d.case_number} / {d.other_case_number}",
                d.decided_by,
                _when(d.decided_at),
                "yes" if d.active else "lifted",
                d.reason,
            )
        stdout.print(decisions)
    for m in case.merged_from:
        stdout.print(
            f"merged in: case {m.case_number} ({m.case_id}) by {m.merged_by}, {_when(m.merged_at)}"
        )


@cases_app.command("show")
def show_command(
    case: str = typer.Argument(..., help="case number (17) or public id (c-…)"),
    authority: str = AuthorityOption,
    identity: Path = IdentityOption,
    ca: Path | None = CaOption,
    server_name: str = ServerNameOption,
    as_json: bool = JsonOption,
) -> None:
    """One case: its reports, the evidence for each link, analysts' decisions."""
    with case_stub(authority, identity, ca, server_name) as stub:
        found = call(lambda: stub.GetCase(cases_pb2.GetCaseRequest(case=case), timeout=DEADLINE_S))
    if as_json:
        _print_json(found)
    else:
        print_case(found)


@cases_app.command("merge")
def merge_command(
    case: str = typer.Argument(..., help="a case number or public id"),
    other: str = typer.Argument(..., help="the case to merge with it"),
    reason: str = typer.Option(..., "--reason", help="why (kept with the decision)"),
    authority: str = AuthorityOption,
    identity: Path = IdentityOption,
    ca: Path | None = CaOption,
    server_name: str = ServerNameOption,
) -> None:
    """Merge two cases; the linker will never separate them."""
    request = cases_pb2.MergeCasesRequest(case=case, other_case=other, reason=reason)
    with case_stub(authority, identity, ca, server_name) as stub:
        change = call(lambda: stub.MergeCases(request, timeout=DEADLINE_S))
    print_case(change.case, heading="merged into case")


@cases_app.command("split")
def split_command(
    case: str = typer.Argument(..., help="a case number or public id"),
    report_ids: list[str] = typer.Argument(..., help="the reports to move to a new case"),
    reason: str = typer.Option(..., "--reason", help="why (kept with the decision)"),
    authority: str = AuthorityOption,
    identity: Path = IdentityOption,
    ca: Path | None = CaOption,
    server_name: str = ServerNameOption,
) -> None:
    """Move reports out of a case; the linker will never join the two parts again."""
    request = cases_pb2.SplitCaseRequest(case=case, report_ids=report_ids, reason=reason)
    with case_stub(authority, identity, ca, server_name) as stub:
        change = call(lambda: stub.SplitCase(request, timeout=DEADLINE_S))
    print_case(change.case, heading="case")
    print_case(change.other, heading="new case")
