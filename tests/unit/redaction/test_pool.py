"""Large batches over worker processes give exactly what one process gives."""

from __future__ import annotations

import pickle

import pytest

from node.redaction import Redactor, new_mapping
from policies.redaction_pack import load_policy

TEXTS = [
    "The analyst Priya Raman flagged it; Raman escalated to Dr. Okafor.",
    "Write to priya.raman@northwind-analytics.com or call +44 20 7946 0958.",
    "Key sk-ant-api03-" + "a1B2c3D4e5" * 9 + "AA and SSN 536-22-1847 leaked.",
    "Siobhán Müller lives at Lindenstraße 14, 10969 Berlin.",
    "Prompt hash sha256:9a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeef.",
    "Raman asked Thabo Oliveira for the IBAN GB82 WEST 1234 5698 7654 32.",
]


def test_pool_finds_what_one_process_finds(redactor: Redactor) -> None:
    texts = TEXTS * 2
    known = [("Priya Raman",)] + [()] * (len(texts) - 1)
    with Redactor(load_policy(), workers=2, parallel_threshold=len(texts)) as pooled:
        assert pooled.find_many(texts, known) == redactor.find_many(texts, known)
        mappings = [new_mapping() for _ in texts]
        pooled_text = [r.text for r in pooled.redact_many(texts, mappings)]
    assert pooled_text == [r.text for r in redactor.redact_many(texts)]
    assert "<PERSON_1>" in pooled_text[0] and "Raman" not in pooled_text[0]


def test_small_batches_and_bad_settings_stay_here() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Redactor(load_policy(), workers=0)
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(Redactor(load_policy()))
