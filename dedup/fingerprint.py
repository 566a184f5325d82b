"""Cheap fingerprints that catch exact and near-exact copies before any embedding.

Rules this module enforces:

- text is normalised before fingerprinting (Unicode NFKC, case-folded, every run of
  non-alphanumeric characters becomes one space), so copies that differ only in case,
  punctuation, markup or spacing have the same content hash;
- MinHash (datasketch, ``num_perm`` permutations, fixed seed) is taken over word
  ``shingle``-grams of the normalised text (over the words themselves when a text is
  shorter than one shingle), and candidate pairs come from an LSH index with ``bands``
  bands. A candidate is a near-exact copy only if its *estimated* Jaccard similarity
  reaches the caller's threshold: the LSH is only the filter;
- an empty text has no MinHash and never matches anything by MinHash.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)

NUM_PERM = 128
SHINGLE = 3
LSH_BANDS = 32  # 32 bands of 4 rows: pairs with Jaccard >= ~0.4 collide with p > 0.5
SEED = 1


def normalise_text(text: str) -> str:
    """The canonical text that hashes and shingles are taken over."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_ALNUM.sub(" ", folded).strip()


def content_hash(text: str) -> str:
    """SHA-256 of the normalised text: equal for copies up to case and punctuation."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, size: int = SHINGLE) -> list[str]:
    words = normalise_text(text).split()
    if len(words) < size:
        return words
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def minhash(text: str, *, num_perm: int = NUM_PERM) -> MinHash | None:
    """MinHash signature of the text's shingles, or None for a text with no words."""
    grams = shingles(text)
    if not grams:
        return None
    permutations, scheme = _permutations(num_perm)
    signature = MinHash(num_perm=num_perm, seed=SEED, permutations=permutations, scheme=scheme)
    signature.update_batch([g.encode("utf-8") for g in grams])
    return signature


@functools.cache
def _permutations(num_perm: int) -> tuple[object, str]:
    """datasketch draws its permutations per object; drawing them once is the same seed."""
    template = MinHash(num_perm=num_perm, seed=SEED)
    return template.permutations, str(template.scheme)


def jaccard(a: MinHash, b: MinHash) -> float:
    return float(a.jaccard(b))


class NearDuplicateIndex:
    """Exact-hash lookup plus MinHash-LSH candidates, with incremental add and remove."""

    def __init__(self, *, num_perm: int = NUM_PERM, bands: int = LSH_BANDS) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm {num_perm} is not a multiple of bands {bands}")
        self.num_perm = num_perm
        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, num_perm // bands))
        self._by_hash: dict[str, set[str]] = {}
        self._hash_of: dict[str, str] = {}
        self._signature_of: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._hash_of)

    def add(self, item_id: str, text_hash: str, signature: MinHash | None) -> None:
        if item_id in self._hash_of:
            return
        self._hash_of[item_id] = text_hash
        self._by_hash.setdefault(text_hash, set()).add(item_id)
        if signature is not None:
            self._signature_of[item_id] = signature
            self._lsh.insert(item_id, signature)

    def remove(self, item_ids: Iterable[str]) -> None:
        for item_id in item_ids:
            text_hash = self._hash_of.pop(item_id, None)
            if text_hash is None:
                continue
            same = self._by_hash.get(text_hash)
            if same is not None:
                same.discard(item_id)
                if not same:
                    del self._by_hash[text_hash]
            if self._signature_of.pop(item_id, None) is not None:
                self._lsh.remove(item_id)

    def exact(self, text_hash: str) -> set[str]:
        """Items whose normalised text is identical."""
        return set(self._by_hash.get(text_hash, ()))

    def near(self, signature: MinHash | None, threshold: float) -> list[tuple[str, float]]:
        """Items whose estimated Jaccard similarity is >= threshold, best first."""
        if signature is None:
            return []
        found = []
        for item_id in self._lsh.query(signature):
            score = jaccard(signature, self._signature_of[item_id])
            if score >= threshold:
                found.append((str(item_id), score))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    def signature(self, item_id: str) -> MinHash | None:
        return self._signature_of.get(item_id)

    def hashvalues(self, item_id: str) -> np.ndarray | None:
        signature = self._signature_of.get(item_id)
        return None if signature is None else np.asarray(signature.hashvalues)
