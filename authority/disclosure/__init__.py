"""Scoped public disclosures: the scheduled job, human approval, immutable signed versions.

Public API::

    DisclosureJob(engine=..., policies=..., signing_key=..., authority_id=...).run_once()
    approve(session, case_id, by=..., note=...) / reject(...) / pending_approvals(session)
    latest_disclosures(session, filters) / case_versions(session, case_id)
    PublishedDisclosure.verify(key)          anyone can check a disclosure's signature
    CaseSource, ReportCases                  where the job gets its cases from

Tables: :mod:`authority.disclosure.tables` (``nm_disclosure*``).
"""

from authority.disclosure.approval import approve, pending_approvals, reject
from authority.disclosure.cases import CaseSource, ReportCases
from authority.disclosure.document import PublishedDisclosure
from authority.disclosure.job import DisclosureJob, JobResult
from authority.disclosure.store import DisclosureFilters, case_versions, latest_disclosures

__all__ = [
    "CaseSource",
    "DisclosureFilters",
    "DisclosureJob",
    "JobResult",
    "PublishedDisclosure",
    "ReportCases",
    "approve",
    "case_versions",
    "latest_disclosures",
    "pending_approvals",
    "reject",
]
