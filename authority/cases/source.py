"""Which ``CaseSource`` the disclosure job and the dashboard read.

Rule: linked cases (``LinkedCases``) whenever the linking worker is on (``[dedup]
enabled``, the default); one case per report (``ReportCases``) where it is switched
off, so disclosures never wait for a linker that will not run. Kept apart from the
worker's wiring so that CLI commands can choose a source without loading it.
"""

from __future__ import annotations

from authority.cases.config import DedupConfig
from authority.cases.queries import LinkedCases
from authority.config import AuthorityConfig
from authority.disclosure.cases import CaseSource, ReportCases


def case_source_for(config: AuthorityConfig) -> CaseSource:
    """Linked cases, or one case per report where linking is switched off."""
    if DedupConfig.from_table(config.extra.get("dedup")).enabled:
        return LinkedCases()
    return ReportCases()
