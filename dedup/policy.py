"""When two reports may be the same incident: the date gate and the pair score.

Rules this module enforces (the numbers are ``LinkPolicy`` fields, tuned on the dev
data in benchmarks/dedup and recorded in docs/adr/0004-dedup.md):

- **date gate**: two dated reports are compared at the coarser of their two precisions
  (a report known to the month is compared by month: both dates are truncated to the
  first of their month); they are compatible when the truncated dates are at most
  ``max_date_gap_days`` apart, so with the default two weeks, month-precise reports
  must share the month. A report without a date is
  compatible with every report. The gate applies to every text-based link (content
  hash, MinHash, embedding): copies of generic text filed weeks apart are common and
  are usually different events. Only a shared strong indicator (same prompt or
  artefact hash) crosses it;
- **pair score** for a paraphrase link: ``centred cosine + lexical_weight * lexical
  cosine + technique_weight * Jaccard(technique ids) - domain_penalty`` (the penalty
  when both reports name harm domains and share none). The cosine is taken after the
  collection's mean vector is subtracted: reports of one kind all lie close together
  in the model's space, and centring spreads them apart;
- a paraphrase link needs the score to reach ``link_threshold``, mutual preference (the
  new report must be the matched report's best candidate outside the matched report's
  own case) and cohesion (its mean score against the case's members, up to
  ``cohesion_sample`` of them, must reach ``link_threshold - cohesion_slack``): the
  last two are what stop chaining in a topically uniform collection;
- a pair where either report has no date gets no date gate, so its candidates are the
  whole collection rather than one month: its paraphrase score must reach the stricter
  ``undated_link_threshold`` (on asrs-dev without the gate the best threshold rose by
  about a third; on the undated advisories any looser bar chained templated texts);
- a paraphrase link needs both texts to have at least ``min_paraphrase_words`` words:
  short texts (advisory one-liners, templated titles) share most of their words by
  template, and on the dev advisories every paraphrase-level link between them was
  mostly wrong; short texts link only as near-exact copies;
- a near-exact copy (same content hash, or MinHash Jaccard >= ``near_jaccard``) links
  without the mutual test: its evidence does not depend on the neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dedup.item import DatePrecision, DedupItem


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Every threshold the linker uses, in one value (see the module rules)."""

    link_threshold: float = 0.75
    undated_link_threshold: float = 1.5
    lexical_weight: float = 1.0
    technique_weight: float = 0.15
    domain_penalty: float = 0.2
    near_jaccard: float = 0.9
    min_paraphrase_words: int = 50
    max_date_gap_days: int = 14
    require_mutual: bool = True
    use_date_gate: bool = True
    centre: bool = True
    centre_prior: int = 32
    cohesion_slack: float = 0.1
    cohesion_sample: int = 64
    neighbours: int = 32
    date_window_cap: int = 5_000


@dataclass(frozen=True, slots=True)
class DateKey:
    """A report's date as day ordinals plus how precise it is."""

    day: int
    month: int
    year: int
    precision: DatePrecision


def date_key(when: datetime | None, precision: DatePrecision) -> DateKey | None:
    if when is None:
        return None
    return DateKey(when.toordinal(), when.year * 12 + when.month - 1, when.year, precision)


DAYS_PER_MONTH = 30.44  # mean Gregorian month
DAYS_PER_YEAR = 365.25

_RANK: dict[DatePrecision, int] = {"day": 0, "month": 1, "year": 2}


def date_gap_days(a: DateKey, b: DateKey) -> int:
    """Distance in days between two dates, truncated to the coarser precision."""
    coarse = a.precision if _RANK[a.precision] >= _RANK[b.precision] else b.precision
    if coarse == "day":
        return abs(a.day - b.day)
    if coarse == "month":
        return round(DAYS_PER_MONTH * abs(a.month - b.month))
    return round(DAYS_PER_YEAR * abs(a.year - b.year))


def dates_compatible(a: DateKey | None, b: DateKey | None, policy: LinkPolicy) -> bool:
    if not policy.use_date_gate or a is None or b is None:
        return True
    return date_gap_days(a, b) <= policy.max_date_gap_days


def technique_overlap(a: DedupItem, b: DedupItem) -> float:
    """Jaccard similarity of the two reports' ATLAS technique ids (0 when either has none)."""
    ta, tb = a.techniques, b.techniques
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def domains_disjoint(a: DedupItem, b: DedupItem) -> bool:
    return bool(a.harm_domains and b.harm_domains and not a.harm_domains & b.harm_domains)


def pair_score(
    cosine: float, lexical: float, a: DedupItem, b: DedupItem, policy: LinkPolicy
) -> float:
    """The paraphrase score of a pair (see the module rules)."""
    score = cosine + policy.lexical_weight * lexical
    score += policy.technique_weight * technique_overlap(a, b)
    if domains_disjoint(a, b):
        score -= policy.domain_penalty
    return score
