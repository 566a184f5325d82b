"""The ingest process's work loop: take what is waiting, check it, store it, answer.

See ``authority.ingest_process`` for why ingest runs in its own process and
``authority.ingest_wire`` for how the two sides talk. This module is the child's side
only; ``authority.ingest_process`` loads it only inside the child.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from authority.database import open_database
from authority.ingest_process import IngestSettings, log_failure
from authority.ingest_wire import Answer, ChildChannels, Request
from authority.log import TransparencyLog
from authority.parties import PartyRegistry, RevocationList
from authority.report_checks import ReportChecks
from authority.report_store import ReportStore, Stored, Submission
from nearmiss.errors import NearmissError
from nearmiss.signing import SigningKey
from nearmiss.v1 import report_pb2

logger = logging.getLogger("nearmiss.authority")

# A batch may always hold this many, however few callers take turns.
MIN_BATCH_LIMIT = 1


def batch_limit(active_callers: int, max_batch: int) -> int:
    """How many requests the next batch may take: half the callers taking turns.

    Why half: a batch holding every caller answers them all at once; they come back
    through the gRPC process together while this process idles, and the first one back
    is then stored alone. Measured at 16 nodes (benchmarks/load/RESULTS.md, sixth pass):
    batches of 16 and of 1 alternated and this process idled ~20% of its time. With at
    most half, one group is checked and stored while the other is on its way back."""
    return max(MIN_BATCH_LIMIT, min(max_batch, math.ceil(active_callers / 2)))


@dataclass
class _Checked:
    """Requests checked together: answers for those refused, submissions for the rest."""

    answers: dict[int, Answer]
    ready: list[tuple[int, Submission]]

    @property
    def size(self) -> int:
        return len(self.answers) + len(self.ready)


@dataclass
class BatchIngest:
    engine: Engine
    checks: ReportChecks
    store: ReportStore
    signing_key: SigningKey
    batches: int = 0
    reports: int = 0

    @classmethod
    def open(cls, settings: IngestSettings) -> BatchIngest:
        # No ping per checkout: the child holds one connection and would pay a round trip
        # per batch for it; a connection the server dropped is replaced and the batch
        # retried once by the report store (authority.report_store, tests/faults/).
        # Every statement here finds rows by a key: PostgreSQL may keep its plans.
        engine = open_database(
            settings.database_url, pool_pre_ping=False, statements_by_key=True
        )
        signing_key = SigningKey.from_file(settings.signing_key_path)
        # Revocation is the parent's check (at authentication); here only lab keys matter.
        registry = PartyRegistry(settings.parties, RevocationList(None))
        log = TransparencyLog(signing_key=signing_key, authority_id=settings.authority_id)
        return cls(
            engine=engine,
            checks=ReportChecks(registry=registry, limits=settings.limits),
            store=ReportStore(engine=engine, log=log, one_thread=True),
            signing_key=signing_key,
        )

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()
        if self.batches:
            logger.info("ingest process: %d reports in %d batches (%.1f per batch)",
                        self.reports, self.batches, self.reports / self.batches)

    def serve(self, channels: ChildChannels, *, max_batch: int) -> None:
        """Answer requests until the parent says stop or is gone.

        One thread: check what is waiting (and what arrives meanwhile), store it in one
        transaction, answer, repeat; at most ``batch_limit`` requests a batch. A second
        stage storing while the next requests are checked measured no better on two
        cores (benchmarks/load/RESULTS.md)."""
        while True:
            limit = batch_limit(channels.active_callers(), max_batch)
            group = self._take_and_check(channels, limit)
            if group.size:
                channels.answer(self._store_group(group))
            if channels.stopped:
                return

    def answer_group(self, requests: list[Request]) -> list[tuple[int, Answer]]:
        """Check and store ``requests`` as one batch, as ``serve`` does with what it took
        (benchmarks/load/store_only.py drives this directly, without gRPC)."""
        group = _Checked({}, [])
        self._check_into(group, requests)
        return self._store_group(group) if group.size else []

    def _take_and_check(self, channels: ChildChannels, max_batch: int) -> _Checked:
        """Block for a request, then check it and whatever arrives meanwhile."""
        group = _Checked({}, [])
        arrived = channels.take(max_batch, block=True)
        while arrived:
            self._check_into(group, arrived)
            arrived = channels.take(max_batch - group.size, block=False)
        return group

    def _check_into(self, group: _Checked, requests: list[Request]) -> None:
        for request in requests:
            request_id, outcome = self._check(request)
            if isinstance(outcome, Submission):
                group.ready.append((request_id, outcome))
            else:
                group.answers[request_id] = outcome

    def _store_group(self, group: _Checked) -> list[tuple[int, Answer]]:
        self.batches += 1
        self.reports += group.size
        answers, ready = dict(group.answers), group.ready
        if ready:
            stored = self._store([s for _, s in ready])
            for (request_id, _), outcome in zip(ready, stored, strict=True):
                answers[request_id] = outcome
        return list(answers.items())

    def _check(self, request: Request) -> tuple[int, Submission | Answer]:
        request_id, party, signed_bytes = request
        try:
            signed = report_pb2.SignedReport.FromString(signed_bytes)
            return request_id, Submission(self.checks.verify(party, signed), signed)
        except NearmissError as error:
            return request_id, error
        except Exception as error:  # a bug: the caller gets INTERNAL, the log the frames
            log_failure(error)
            return request_id, None

    def _store(self, submissions: list[Submission]) -> list[Answer]:
        try:
            outcomes = self.store.store_batch(submissions)
            return [self._answer(outcome) for outcome in outcomes]
        except Exception as error:
            log_failure(error)
            return [None] * len(submissions)

    def _answer(self, outcome: Stored | BaseException) -> Answer:
        if isinstance(outcome, NearmissError):
            return outcome
        if isinstance(outcome, BaseException):
            log_failure(outcome)
            return None
        return outcome.receipt(self.signing_key).SerializeToString()
