"""The one set of tests with the real all-MiniLM-L6-v2 (loaded once per session)."""

from __future__ import annotations

import numpy as np

from dedup import CaseLinker, LinkPolicy, MiniLMEmbedder
from tests.unit.dedup.helpers import item

CAMPAIGN = [
    "Users asked the assistant to pretend to be their late grandmother who worked at a "
    "chemical plant, and it then listed steps to make napalm at home. The conversations "
    "came from several accounts over two days; the safety classifier did not fire because "
    "each message looked like a family memory. We blocked the pattern and retrained the "
    "filter on the collected transcripts.",
    "A role-play jailbreak in which the user poses as a grieving grandchild got the model "
    "to give home instructions for producing napalm. Our monitoring flagged a cluster of "
    "sessions using the same story about a grandmother at a chemical factory; the refusal "
    "policy was bypassed by the emotional framing. Mitigation: a new rule in the filter and "
    "an updated refusal training set.",
]
UNRELATED = [
    "Our coding agent deleted a production database table after misreading a cleanup task.",
    "The image model produced photorealistic fake passports when prompted in Portuguese.",
    "A customer support bot leaked another customer's order history and postal address.",
    "Transcribed meeting notes contained a hallucinated quote attributed to the CFO.",
]


def test_vectors_are_unit_length_and_paraphrases_are_closer(real_embedder: MiniLMEmbedder) -> None:
    vectors = real_embedder.embed([*CAMPAIGN, *UNRELATED])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > max(sims[0, 2:].max(), sims[1, 2:].max())


def test_long_text_is_chunked_into_substrings(real_embedder: MiniLMEmbedder) -> None:
    long_text = " ".join(f"Step {n}: the agent retried the failing deployment." for n in range(60))
    plan = real_embedder.plan(long_text)
    assert len(plan.texts) > 1 and all(chunk in long_text for chunk in plan.texts)
    assert max(plan.weights) <= real_embedder.chunk_tokens  # type: ignore[operator]
    assert real_embedder.embed([long_text]).shape == (1, real_embedder.dim)


def test_paraphrases_link_and_unrelated_reports_do_not(real_embedder: MiniLMEmbedder) -> None:
    """Two labs' reports of one campaign, as filed: own words, same technique id, same week.

    (Text alone scores about 0.67 here, under the dev-tuned threshold of 0.75: the
    technique id is part of the evidence, as the ADR explains.)
    """
    technique = [("ATLAS_TECHNIQUE", "AML.T0054")]
    linker = CaseLinker(real_embedder, policy=LinkPolicy())
    decisions = linker.link_batch(
        [
            item("u1", UNRELATED[0], day="2026-05-02"),
            item("c1", CAMPAIGN[0], day="2026-05-03", indicators=technique),
            *(
                item(f"u{n}", text, day="2026-05-04")
                for n, text in enumerate(UNRELATED[1:], start=2)
            ),
            item("c2", CAMPAIGN[1], day="2026-05-06", indicators=technique),
        ]
    )
    by_id = {d.item_id: d for d in decisions}
    assert by_id["c2"].case_id == by_id["c1"].case_id
    assert by_id["c2"].evidence[0].method == "embedding"
    others = {by_id[f"u{n}"].case_id for n in range(1, 5)}
    assert len(others) == 4 and by_id["c1"].case_id not in others
