"""GetReceipt's look-up (``IngestService.receipt_for``): a receipt whose tree head had to
be signed for it (the authority's key was rotated) is answered only with a head that is
stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from authority.config import LimitsConfig
from authority.ingest import IngestService
from authority.log import TransparencyLog
from authority.parties import PartyRegistry, RevocationList
from authority.report_store import ReportStore
from nearmiss.identity import Party, Role
from nearmiss.proofs import verify_tree_head
from nearmiss.signing import SigningKey
from tests.unit.ingest.test_report_store import AUTHORITY, submission


def test_a_receipt_signed_after_rotation_carries_a_stored_head(engine: Engine) -> None:
    kept = submission()
    ReportStore(
        engine=engine, log=TransparencyLog(signing_key=AUTHORITY, authority_id="a")
    ).store_batch([kept])
    rotated = SigningKey.generate()
    service = IngestService(
        engine=engine,
        registry=PartyRegistry({}, RevocationList(None)),
        log=TransparencyLog(signing_key=rotated, authority_id="a"),
        signing_key=rotated,
        limits=LimitsConfig(),
    )
    lab = Party(kept.report.lab_id, Role.LAB)
    try:
        first = service.receipt_for(lab, kept.report.report_id)
        second = service.receipt_for(lab, kept.report.report_id)
    finally:
        service.close()
    verify_tree_head(first.tree_head, rotated.verifying_key)
    assert second.tree_head == first.tree_head  # not signed again: it was stored
    with engine.connect() as connection:
        heads = connection.execute(text(
            "SELECT tree_size, authority_key_id, signature FROM nm_log_tree_head ORDER BY id"
        )).all()
    assert [(h[0], h[1]) for h in heads] == [(1, AUTHORITY.key_id), (1, rotated.key_id)]
    assert bytes(heads[1][2]) == first.tree_head.signature
