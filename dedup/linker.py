"""The case linker: puts each new report into an incident case, with evidence.

Pipeline for a batch (rules, in order):

1. fingerprints first: every report gets a content hash and a MinHash. A report whose
   normalised text is already held reuses that report's vector, so exact copies cost no
   model call; the others are embedded in one batched call;
2. then one report at a time, in the order given (so reports in one batch can link to
   each other), candidates are gathered by k-NN on the vector index (``neighbours``;
   there is no range search), plus the best ``neighbours`` by cosine among reports
   whose dates pass the gate (when at most ``date_window_cap`` of them), plus exact-hash,
   MinHash-LSH and shared-strong-indicator matches;
3. each candidate is judged by ``dedup.policy``: strong shared indicator, or (within the
   date gate) identical text or MinHash Jaccard >= ``near_jaccard`` link at once. A
   paraphrase link goes only to the new report's *best*-scoring candidate, needs a
   pair score >= ``link_threshold``, and that candidate must prefer the new report to
   everything outside its own case (mutual preference, against chaining); the other
   above-threshold candidates in the same case are kept as evidence;
4. the report joins the best accepted case; other accepted cases are merged into it
   (a report that bridges cases merges them) unless an analyst split them apart, in
   which case they are reported as blocked and left alone;
5. analysts' merges and splits go through :meth:`CaseLinker.merge_cases` and
   :meth:`CaseLinker.split_case` and are never undone by later batches.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from dedup.cases import CaseStore, HumanDecision
from dedup.decisions import LinkDecision, LinkEvidence, LinkMethod
from dedup.embedder import TextEmbedder, Vectors
from dedup.fingerprint import NearDuplicateIndex, content_hash, minhash
from dedup.index import IndexConfig, VectorIndex
from dedup.item import STRONG_INDICATOR_TYPES, DedupItem, body_text, embedding_text
from dedup.lexical import LexicalIndex
from dedup.policy import (
    DateKey,
    LinkPolicy,
    date_gap_days,
    date_key,
    dates_compatible,
    pair_score,
)
from nearmiss.errors import ConfigError, ConflictError

_YEAR_SLACK_DAYS = 366  # a year-precise date may lie anywhere in its year


@dataclass(slots=True)
class _Held:
    item: DedupItem
    label: int
    date: DateKey | None
    text_hash: str
    signature: MinHash | None
    words: int = 0


@dataclass(slots=True)
class _Pair:
    """Everything measured about (query, candidate)."""

    other: _Held
    cosine: float
    centred: float
    lexical: float
    jaccard: float | None
    shared: tuple[tuple[str, str], ...]
    gap: int | None
    score: float
    same_text: bool
    query_words: int


class CaseLinker:
    """Holds the vector index and case assignments in memory; links batches of reports."""

    def __init__(
        self,
        embedder: TextEmbedder,
        *,
        policy: LinkPolicy | None = None,
        index_config: IndexConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.policy = policy or LinkPolicy()
        self.index = VectorIndex(embedder.dim, model_id=embedder.model_id, config=index_config)
        self.cases = CaseStore()
        self._held: dict[str, _Held] = {}
        self._by_label: dict[int, _Held] = {}
        self._next_label = 0
        self._near = NearDuplicateIndex()
        self._lexical = LexicalIndex()
        self._by_indicator: dict[tuple[str, str], set[str]] = {}
        self._dated: list[tuple[int, int]] = []  # (day ordinal, label), sorted
        self._sum = np.zeros(embedder.dim, dtype=np.float64)

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._held

    def case_of(self, item_id: str) -> int:
        return self.cases.case_of(item_id)

    def vector(self, item_id: str) -> Vectors:
        """The stored vector of a report (what the authority persists beside it)."""
        vec: Vectors = self.index.vectors([self._held[item_id].label])[0]
        return vec

    def label_of(self, item_id: str) -> int:
        return self._held[item_id].label

    # -- linking -----------------------------------------------------------------------

    def link_batch(self, items: Sequence[DedupItem]) -> list[LinkDecision]:
        """Link new reports, in order; returns one decision per report."""
        self._check_new(items)
        hashes = [content_hash(body_text(i)) for i in items]
        vectors = self._vectors_for(items, hashes)
        decisions = []
        for item, text_hash, vec in zip(items, hashes, vectors, strict=True):
            decisions.append(self._link_one(item, text_hash, vec))
        return decisions

    def link_batch_with_vectors(
        self, items: Sequence[DedupItem], vectors: Vectors
    ) -> list[LinkDecision]:
        """Link reports whose vectors the caller already has (from its own store)."""
        self._check_new(items)
        if len(vectors) != len(items):
            raise ConfigError(f"{len(vectors)} vectors for {len(items)} reports")
        return [
            self._link_one(item, content_hash(body_text(item)), vec)
            for item, vec in zip(items, np.asarray(vectors, dtype=np.float32), strict=True)
        ]

    def _check_new(self, items: Sequence[DedupItem]) -> None:
        seen: set[str] = set()
        for item in items:
            if item.item_id in self._held or item.item_id in seen:
                raise ConflictError(f"report {item.item_id} is linked twice")
            seen.add(item.item_id)

    def _vectors_for(self, items: Sequence[DedupItem], hashes: Sequence[str]) -> Vectors:
        """Embed what is new; reuse the vector of an identical text already held."""
        out = np.zeros((len(items), self.embedder.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for row, text_hash in enumerate(hashes):
            same = self._near.exact(text_hash)
            if same:
                out[row] = self.index.vectors([self._held[min(same)].label])[0]
            else:
                todo.setdefault(embedding_text(items[row]), []).append(row)
        if todo:
            texts = list(todo)
            fresh = self.embedder.embed(texts)
            for text, vec in zip(texts, fresh, strict=True):
                out[todo[text]] = vec
        return out

    def _link_one(self, item: DedupItem, text_hash: str, vec: Vectors) -> LinkDecision:
        text = body_text(item)
        held = _Held(item, -1, date_key(item.occurred_at, item.date_precision), text_hash,
                     minhash(text), len(text.split()))
        pairs = self._judge(held, vec, text, exclude=None)
        accepted: dict[int, list[tuple[_Pair, LinkMethod]]] = {}
        paraphrases: list[_Pair] = []
        for pair in pairs:
            method = self._method(pair)
            if method == "embedding":
                paraphrases.append(pair)
            elif method is not None:
                case_id = self.cases.case_of(pair.other.item.item_id)
                accepted.setdefault(case_id, []).append((pair, method))
        if paraphrases:
            best = max(paraphrases, key=lambda p: (p.score, -p.other.label))
            case_id = self.cases.case_of(best.other.item.item_id)
            if self._mutual(best, case_id) and self._cohesive(held, vec, item, case_id):
                accepted.setdefault(case_id, []).extend(
                    (p, "embedding")
                    for p in paraphrases
                    if self.cases.case_of(p.other.item.item_id) == case_id
                )
        decision = self._assign(item, accepted)
        self._hold(held, vec)
        return decision

    def _method(self, pair: _Pair) -> LinkMethod | None:
        policy = self.policy
        if any(k in STRONG_INDICATOR_TYPES for k, _ in pair.shared):
            return "indicator"
        if pair.gap is not None and pair.gap > policy.max_date_gap_days and policy.use_date_gate:
            return None
        if pair.same_text:
            return "content_hash"
        if pair.jaccard is not None and pair.jaccard >= policy.near_jaccard:
            return "minhash"
        bar = policy.link_threshold if pair.gap is not None else policy.undated_link_threshold
        if pair.score >= bar and self._long_enough(pair):
            return "embedding"
        return None

    def _long_enough(self, pair: _Pair) -> bool:
        """Both texts carry enough words for a paraphrase judgement (see dedup.policy)."""
        return min(pair.query_words, pair.other.words) >= self.policy.min_paraphrase_words

    def _mutual(self, pair: _Pair, case_id: int) -> bool:
        """The matched report prefers the new one to everything outside its own case."""
        if not self.policy.require_mutual:
            return True
        other = pair.other
        own_case = self.cases.members(case_id)
        vec = self.index.vectors([other.label])[0]
        rivals = self._judge(other, vec, body_text(other.item), exclude=own_case)
        return all(r.score <= pair.score for r in rivals)

    def _cohesive(self, held: _Held, vec: Vectors, item: DedupItem, case_id: int) -> bool:
        """Average linkage: the new report must match the case as a whole, not one member.

        Without this a case grows by chaining (each newcomer close to the last one only).
        """
        members = sorted(self.cases.members(case_id))[: self.policy.cohesion_sample]
        if len(members) < 2:
            return True
        pairs = self._measure(held, vec, body_text(item), [self._held[m] for m in members])
        mean = sum(p.score for p in pairs) / len(pairs)
        return mean >= self.policy.link_threshold - self.policy.cohesion_slack

    def _assign(
        self, item: DedupItem, accepted: Mapping[int, list[tuple[_Pair, LinkMethod]]]
    ) -> LinkDecision:
        if not accepted:
            return LinkDecision(item.item_id, self.cases.new_case(item.item_id), True)
        strength = {"indicator": 3, "content_hash": 2, "minhash": 1, "embedding": 0}
        ranked = sorted(
            accepted,
            key=lambda c: max((strength[m], p.score) for p, m in accepted[c]),
            reverse=True,
        )
        target = ranked[0]
        merged: list[int] = []
        blocked: list[int] = []
        used = [target]
        for other in ranked[1:]:
            if self.cases.can_merge(other, target):
                merged.append(other)
                used.append(other)
                target = self.cases.merge(target, other)
            else:
                blocked.append(other)
        self.cases.join(item.item_id, target)
        evidence = tuple(
            self._evidence(p, m) for c in used for p, m in accepted[c]
        )
        merged_away = tuple(sorted(c for c in [*used] if c != target))
        return LinkDecision(item.item_id, target, False, merged_away, evidence, tuple(blocked))

    # -- candidates and their measurements ---------------------------------------------

    def _judge(
        self, query: _Held, vec: Vectors, text: str, exclude: frozenset[str] | None
    ) -> list[_Pair]:
        """Measure the query against its candidates (never against itself or ``exclude``)."""
        skip = exclude or frozenset()
        labels = self._candidate_labels(query, vec, extra=len(skip))
        others = [
            self._by_label[lb]
            for lb in sorted(labels)
            if lb in self._by_label
            and self._by_label[lb].item.item_id not in skip
            and lb != query.label
        ]
        return self._measure(query, vec, text, others)

    def _measure(self, query: _Held, vec: Vectors, text: str, others: list[_Held]) -> list[_Pair]:
        """Every signal for (query, other) pairs, as one vectorised pass."""
        if not others:
            return []
        matrix = self.index.vectors([o.label for o in others])
        cosines = matrix @ vec
        centred = self._centred(vec, matrix)
        lexical = self._lexical.similarities(
            query.item.item_id if query.label >= 0 else text,
            [o.item.item_id for o in others],
            is_id=query.label >= 0,
        )
        pairs = []
        for o, cos, cen, lex in zip(others, cosines, centred, lexical, strict=True):
            gap = None
            if query.date is not None and o.date is not None:
                gap = date_gap_days(query.date, o.date)
            jac = None
            if query.signature is not None and o.signature is not None:
                jac = float(query.signature.jaccard(o.signature))
            shared = tuple(sorted(query.item.indicators & o.item.indicators))
            score = pair_score(float(cen), lex, query.item, o.item, self.policy)
            pairs.append(
                _Pair(o, float(cos), float(cen), lex, jac, shared, gap, score,
                      query.text_hash == o.text_hash, query.words)
            )
        return pairs

    def _candidate_labels(self, query: _Held, vec: Vectors, *, extra: int = 0) -> set[int]:
        """k-NN plus date-window best plus fingerprint and indicator matches.

        ``extra`` widens the k-NN by the number of reports the caller will discard (the
        matched report's own case in the mutual test), so enough rivals remain.
        """
        policy = self.policy
        k = policy.neighbours + extra
        labels: set[int] = set()
        if len(self.index):
            _, found = self.index.search(vec[None, :], k)
            labels.update(int(x) for x in found[0] if x >= 0)
        labels.update(self._window_best(query, vec, k))
        labels.update(self._held[i].label for i in self._near.exact(query.text_hash))
        for item_id, _ in self._near.near(query.signature, policy.near_jaccard):
            labels.add(self._held[item_id].label)
        for indicator in query.item.strong_indicators:
            labels.update(self._held[i].label for i in self._by_indicator.get(indicator, ()))
        return {
            lb
            for lb in labels
            if lb in self._by_label and self._gate(query, self._by_label[lb])
        }

    def _gate(self, query: _Held, other: _Held) -> bool:
        """The date gate, except for reports that share a strong indicator."""
        if query.item.strong_indicators & other.item.strong_indicators:
            return True
        return dates_compatible(query.date, other.date, self.policy)

    def _window_best(self, query: _Held, vec: Vectors, k: int) -> list[int]:
        """The best-cosine reports among those whose dates pass the gate."""
        if query.date is None or not self.policy.use_date_gate or not self._dated:
            return []
        slack = self.policy.max_date_gap_days + _YEAR_SLACK_DAYS
        lo = bisect.bisect_left(self._dated, (query.date.day - slack, -1))
        hi = bisect.bisect_right(self._dated, (query.date.day + slack, 1 << 62))
        if hi - lo > self.policy.date_window_cap:
            return []
        window = [
            lb
            for _, lb in self._dated[lo:hi]
            if dates_compatible(query.date, self._by_label[lb].date, self.policy)
        ]
        if not window:
            return []
        scores = self.index.vectors(window) @ vec
        keep = np.argsort(-scores, kind="stable")[:k]
        return [window[i] for i in keep]

    def _centred(self, vec: Vectors, matrix: Vectors) -> np.ndarray:
        if not self.policy.centre:
            return np.asarray(matrix @ vec, dtype=np.float32)
        mean = (self._sum / (len(self._held) + self.policy.centre_prior)).astype(np.float32)
        q = vec - mean
        m = matrix - mean
        norms = np.linalg.norm(m, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        norms[norms == 0] = 1e-12
        return np.asarray((m @ q) / norms, dtype=np.float32)

    def _evidence(self, pair: _Pair, method: LinkMethod) -> LinkEvidence:
        score = {"embedding": pair.score, "minhash": pair.jaccard or 0.0}.get(method, 1.0)
        return LinkEvidence(
            matched_item_id=pair.other.item.item_id,
            method=method,
            score=score,
            cosine=pair.cosine,
            centred_cosine=pair.centred,
            lexical=pair.lexical,
            jaccard=pair.jaccard,
            shared_indicators=pair.shared,
            date_gap_days=pair.gap,
        )

    # -- state -------------------------------------------------------------------------

    def _hold(self, held: _Held, vec: Vectors) -> None:
        held.label = self._next_label
        self._next_label += 1
        self.index.add([held.label], vec[None, :])
        self._remember(held)

    def _remember(self, held: _Held) -> None:
        """Record a report whose vector is already in the index under ``held.label``."""
        item = held.item
        self._held[item.item_id] = held
        self._by_label[held.label] = held
        self._sum += self.index.vectors([held.label])[0]
        self._near.add(item.item_id, held.text_hash, held.signature)
        self._lexical.add(item.item_id, body_text(item))
        for indicator in item.strong_indicators:
            self._by_indicator.setdefault(indicator, set()).add(item.item_id)
        if held.date is not None:
            bisect.insort(self._dated, (held.date.day, held.label))

    def remove(self, item_ids: Iterable[str]) -> int:
        """Forget reports (retention): index, fingerprints, cases. Returns how many."""
        gone = [self._held.pop(i) for i in item_ids if i in self._held]
        if not gone:
            return 0
        ids = [h.item.item_id for h in gone]
        self._sum -= self.index.vectors([h.label for h in gone]).sum(axis=0)
        self.index.remove(h.label for h in gone)
        self._near.remove(ids)
        self._lexical.remove(ids)
        for h in gone:
            del self._by_label[h.label]
            for indicator in h.item.strong_indicators:
                self._by_indicator.get(indicator, set()).discard(h.item.item_id)
        dead = {h.label for h in gone}
        self._dated = [d for d in self._dated if d[1] not in dead]
        self.cases.remove_items(ids)
        return len(gone)

    # -- analysts ----------------------------------------------------------------------

    def merge_cases(self, a: int, b: int, *, by: str, reason: str = "") -> int:
        """An analyst merges two cases; returns the surviving case id."""
        return self.cases.merge_by_human(a, b, by=by, reason=reason)

    def split_case(
        self, case_id: int, item_ids: Iterable[str], *, by: str, reason: str = ""
    ) -> int:
        """An analyst moves reports out of a case; returns the new case id."""
        return self.cases.split_by_human(case_id, item_ids, by=by, reason=reason)

    @property
    def decisions(self) -> tuple[HumanDecision, ...]:
        return self.cases.decisions


