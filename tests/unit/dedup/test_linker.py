"""CaseLinker logic with a fake embedder: which evidence links, what blocks, restore."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dedup import CaseLinker, LinkPolicy, restore_linker, save_linker
from tests.unit.dedup.helpers import BagOfWordsEmbedder, item

JAILBREAK = "model wrote malware after grandmother roleplay jailbreak prompt on chat endpoint"
PHISHING = "phishing emails generated in bulk against bank customers using the api"
WEATHER = "summary of quarterly weather model evaluation with no incident at all"


def test_exact_copy_links_by_content_hash_without_a_model_call(
    fake_embedder: BagOfWordsEmbedder,
) -> None:
    linker = CaseLinker(fake_embedder)
    first = linker.link_batch([item("a", JAILBREAK), item("b", PHISHING)])
    calls = fake_embedder.calls
    (decision,) = linker.link_batch([item("c", JAILBREAK.upper() + "!")])
    assert fake_embedder.calls == calls
    assert decision.case_id == first[0].case_id and not decision.new_case
    assert decision.evidence[0].method == "content_hash"
    assert decision.evidence[0].matched_item_id == "a"


def test_unrelated_reports_get_their_own_cases(fake_embedder: BagOfWordsEmbedder) -> None:
    decisions = CaseLinker(fake_embedder).link_batch(
        [item("a", JAILBREAK), item("b", PHISHING), item("c", WEATHER)]
    )
    assert all(d.new_case for d in decisions)
    assert len({d.case_id for d in decisions}) == 3


def test_date_gate_blocks_a_copy_months_apart(fake_embedder: BagOfWordsEmbedder) -> None:
    linker = CaseLinker(fake_embedder)
    a, b = linker.link_batch(
        [item("a", JAILBREAK, day="2026-01-05"), item("b", JAILBREAK, day="2026-06-05")]
    )
    assert b.new_case and a.case_id != b.case_id


def test_shared_prompt_hash_crosses_the_date_gate(fake_embedder: BagOfWordsEmbedder) -> None:
    prompt = ("PROMPT_SHA256", "ab" * 32)
    linker = CaseLinker(fake_embedder)
    _, b = linker.link_batch(
        [
            item("a", JAILBREAK, day="2026-01-05", indicators=[prompt]),
            item("b", PHISHING, day="2026-06-05", indicators=[prompt]),
        ]
    )
    assert not b.new_case
    assert b.evidence[0].method == "indicator"
    assert b.evidence[0].shared_indicators == (("PROMPT_SHA256", "ab" * 32),)


def test_bridging_report_merges_cases_unless_an_analyst_split_them(
    fake_embedder: BagOfWordsEmbedder,
) -> None:
    p1, p2 = ("PROMPT_SHA256", "01" * 32), ("ARTEFACT_SHA256", "02" * 32)
    linker = CaseLinker(fake_embedder)
    a, b = linker.link_batch(
        [item("a", JAILBREAK, indicators=[p1]), item("b", PHISHING, indicators=[p2])]
    )
    (bridge,) = linker.link_batch([item("c", WEATHER, indicators=[p1, p2])])
    assert bridge.merged_case_ids == (b.case_id,) and bridge.case_id == a.case_id
    assert linker.cases.members(a.case_id) == {"a", "b", "c"}

    kept = linker.split_case(a.case_id, ["b"], by="analyst")
    (again,) = linker.link_batch([item("d", WEATHER + " again", indicators=[p1, p2])])
    assert again.blocked_case_ids and not again.merged_case_ids
    assert linker.case_of("b") == kept and linker.case_of("a") != kept


def test_paraphrase_links_by_embedding_with_evidence(fake_embedder: BagOfWordsEmbedder) -> None:
    linker = CaseLinker(fake_embedder, policy=LinkPolicy(
        link_threshold=0.5, undated_link_threshold=0.5, near_jaccard=1.1, min_paraphrase_words=0
    ))
    linker.link_batch([item("a", JAILBREAK), item("b", PHISHING), item("c", WEATHER)])
    paraphrase = "after a grandmother roleplay jailbreak the model wrote malware"
    (d,) = linker.link_batch([item("d", paraphrase)])
    assert d.case_id == linker.case_of("a")
    (evidence,) = d.evidence
    assert evidence.method == "embedding" and evidence.score >= 0.5
    assert set(evidence.as_dict()) >= {"matched_item_id", "cosine", "lexical", "shared_indicators"}


def test_remove_forgets_the_report_everywhere(fake_embedder: BagOfWordsEmbedder) -> None:
    linker = CaseLinker(fake_embedder)
    linker.link_batch([item("a", JAILBREAK), item("b", PHISHING)])
    assert linker.remove(["a", "zzz"]) == 1
    assert "a" not in linker and len(linker.index) == 1
    (c,) = linker.link_batch([item("c", JAILBREAK)])
    assert c.new_case


def test_restore_from_vectors_and_snapshot_behaves_like_the_original(
    fake_embedder: BagOfWordsEmbedder, tmp_path: Path
) -> None:
    items = [item("a", JAILBREAK), item("b", PHISHING), item("c", JAILBREAK + ".")]
    linker = CaseLinker(fake_embedder)
    linker.link_batch(items)
    save_linker(linker, tmp_path)
    assignments = {i.item_id: linker.case_of(i.item_id) for i in items}
    vectors = [linker.vector(i.item_id) for i in items]
    for snapshot in (tmp_path, None):
        restored = restore_linker(
            fake_embedder, items, assignments, vectors=np.stack(vectors),
            decisions=linker.decisions, snapshot=snapshot,
        )
        (d,) = restored.link_batch([item("d", JAILBREAK)])
        assert d.case_id == assignments["a"]
        assert restored.cases.next_id == linker.cases.next_id
