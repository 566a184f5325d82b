"""Incident cases: reports linked as one incident, with the evidence for each link.

See docs/CASES.md. Public API::

    install_cases(app)              the linking worker + CaseService (authority.app)
    case_source_for(config)         CaseSource for the disclosure job and dashboard
    LinkingWorker(engine=..., wake=..., embedder_factory=..., snapshot_dir=...)
    CaseDesk(engine=...).list() / .get(ref) / .merge(a, b, by=, reason=) / .split(...)
    LinkedCases()                   CaseSource over linked cases

Tables: :mod:`authority.cases.tables` (``nm_case*``). Names are imported on first use,
so registering the tables (``authority.database``) does not load the model stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CaseDesk": "authority.cases.service",
    "CaseDetail": "authority.cases.queries",
    "CaseSummary": "authority.cases.queries",
    "DedupConfig": "authority.cases.config",
    "LinkedCases": "authority.cases.queries",
    "LinkingWorker": "authority.cases.worker",
    "case_source_for": "authority.cases.source",
    "install_cases": "authority.cases.component",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
