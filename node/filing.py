"""Filing a report on this node: validate, redact, sign, and queue it durably.

The CLI (``node submit``) and the local API (``NodeService.FileReport``) both file
through :class:`Filer`, so a report meets the same checks whichever way it comes in.

Rules this module enforces:

- Nothing is queued unless the report passed every check; the signed bytes are in the
  outbox (committed, fsynced) before this returns, and before any network call.
- Filing again is idempotent: a report whose ``report_id`` is already here with the same
  content as filed (``reported_at`` aside, which the node stamps) returns the stored
  row without signing anything new; same content after redaction counts as the same
  too. Other content under that id is a ConflictError naming the id.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nearmiss.canonical import report_to_proto
from nearmiss.model import IncidentReport
from nearmiss.signing import SigningKey
from node.outbox import Digests, Outbox, ReportState
from node.redact_report import Redacted, ReportRedactor
from node.signer import prepare, sign_for_sending


@dataclass(frozen=True)
class Filed:
    report_id: str
    already_queued: bool
    state: ReportState
    counts: dict[str, int] = field(default_factory=dict)
    withheld_sections: int = 0


def content_digest(report: IncidentReport) -> str:
    """SHA-256 of the report's deterministic encoding with ``reported_at`` cleared."""
    message = report_to_proto(report.model_copy(update={"reported_at": None}))
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()


class Filer:
    def __init__(
        self,
        *,
        lab_id: str,
        signing_key: SigningKey,
        outbox: Outbox,
        redactor: Callable[[], ReportRedactor | None],
        clock: Callable[[], float] = time.time,
    ):
        self._lab_id = lab_id
        self._key = signing_key
        self._outbox = outbox
        self._redactor = redactor
        self._clock = clock

    def preview(self, report: IncidentReport, *, source: str) -> Redacted:
        """What filing would send (for ``--dry-run``); queues and sends nothing."""
        return prepare(report, lab_id=self._lab_id, redactor=self._redactor(), source=source)

    def file(self, report: IncidentReport, *, source: str) -> Filed:
        input_digest = content_digest(report)
        known = self._outbox.find(report.report_id)
        if known is not None and known[0].input_digest == input_digest:
            return Filed(report.report_id, already_queued=True, state=known[1])
        prepared = prepare(report, lab_id=self._lab_id, redactor=self._redactor(), source=source)
        signed = sign_for_sending(prepared.report, self._key)
        enqueued = self._outbox.enqueue(
            report.report_id,
            signed,
            Digests(input_digest=input_digest, sent_digest=content_digest(prepared.report)),
            now=self._clock(),
        )
        return Filed(
            report.report_id,
            already_queued=enqueued.already_queued,
            state=enqueued.report.state,
            counts=prepared.counts,
            withheld_sections=prepared.withheld_sections,
        )
