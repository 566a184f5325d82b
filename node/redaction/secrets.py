"""Credential detectors: private key blocks, JWTs, provider keys, high-entropy strings.

Rules this module enforces:

- Provider key shapes come from detect-secrets' maintained plugins (every
  ``RegexBasedDetector`` it ships, except the ones that are not credentials or that we
  cover better elsewhere); we add only the shapes it lacks (LLM providers, Google,
  Hugging Face, fine-grained GitHub tokens, bearer tokens, ``sk-…`` style keys).
- A private key block is redacted whole, from its BEGIN line to its END line (or to the
  end of the base64 body when the paste was cut off).
- A JWT counts only when its header and payload decode as JSON (detect-secrets' check).
- High-entropy strings: a token of 20+ characters counts when its Shannon entropy
  (detect-secrets' measure) passes a length-aware limit and it mixes character classes.
  UUIDs and bare hex strings of digest length (32/40/64/128: MD5/SHA-1/SHA-256/SHA-512)
  are *kept*, because reports carry digests on purpose (prompt hashes, commit ids),
  unless a secret keyword (key, token, secret, password...) stands just before them.
- ``password: hunter2``-style assignments redact the value whatever its entropy.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import detect_secrets.plugins as plugins_package
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import DENYLIST as KEYWORD_DENYLIST
from detect_secrets.plugins.private_key import PrivateKeyDetector

from node.redaction.prefilter import Needs, required, text_runs

Span = tuple[int, int]

# Not credentials (public IPs) or handled by a dedicated detector with better spans.
_SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector", "JwtTokenDetector",
                    "BasicAuthDetector"}

# Shapes detect-secrets 1.5 does not know. Each names its issuer's documented prefix.
_EXTRA_KEY_PATTERNS = (
    r"sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_\-]{20,}",  # Anthropic
    r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}",  # OpenAI project/service keys
    r"sk[-_](?:live|test)[-_][A-Za-z0-9]{16,}",  # Stripe-style and look-alikes
    r"sk-[A-Za-z0-9]{32,}",  # OpenAI legacy and compatible providers
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"github_pat_[A-Za-z0-9_]{50,}",  # GitHub fine-grained PAT
    r"gsk_[A-Za-z0-9]{40,}",  # Groq
    r"r8_[A-Za-z0-9]{30,}",  # Replicate
    r"xai-[A-Za-z0-9]{40,}",  # xAI
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens with letters in the numeric parts
    r"ASIA[0-9A-Z]{16}|AKIA[0-9A-Z]{16}",
)
# Kept apart from the alternation below: it may start where another shape starts.
_BEARER = r"(?<=Bearer )[A-Za-z0-9._~+/\-]{20,}=*"  # HTTP bearer tokens

_BOUNDARY_BEFORE = r"(?<![A-Za-z0-9_\-])"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9_])"

_KEYWORDS = "|".join(
    [*KEYWORD_DENYLIST, "token", "access_?key", "secret_?key", "client_?secret",
     "bearer", "credential", "api[ _-]?key", "auth[ _-]?token", "session[ _-]?id"]
)
# "password: hunter2", "api_key=abc", "the token was abc123": the value after the keyword.
_ASSIGNMENT = re.compile(
    rf"(?i:\b(?:(?:{_KEYWORDS})\w*[\"']?\s*(?:[:=]|=>|\bis\b|\bwas\b)|"
    r"(?:password|passwd|passphrase|pwd)\s)\s*)[\"'`]?"
    r"(?P<value>(?=[^\s\"'`]*(?:\d|[^\w\s\"'`,;.)\]]))[^\s\"'`,;]{5,}[^\s\"'`,;.)\]])"
)
_KEYWORD_NEAR = re.compile(
    rf"(?i:(?:{_KEYWORDS})\w*)[\"'\]]?\s*(?:[:=]|=>|\bis\b|\bwas\b)?\s*[\"'`]?$"
)

_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/=_\-]{20,}(?![A-Za-z0-9+/=_\-])")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGEST_LENGTHS = {32, 40, 64, 128}

_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|---- END SSH2[^\n]*")
_PEM_BODY_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z\-]+: [^\n]*|)[ \t]*(?:\n|$)")


def _plugin_patterns() -> list[re.Pattern[str]]:
    """Every regex of detect-secrets' regex plugins, minus the ones we skip."""
    found: list[re.Pattern[str]] = []
    for info in pkgutil.iter_modules(plugins_package.__path__):
        module = importlib.import_module(f"{plugins_package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, RegexBasedDetector)
                and value is not RegexBasedDetector
                and value.__module__ == module.__name__
                and value.__name__ not in _SKIPPED_PLUGINS
            ):
                found.extend(cast("Iterable[re.Pattern[str]]", value.denylist))
    return found


@dataclass(frozen=True)
class SecretPatterns:
    """Compiled once per Redactor (compiling ~50 regexes costs a few ms), each key pattern
    with what a text needs to hold a match of it (``prefilter``: most key shapes need a
    long run of key characters, which most texts lack)."""

    keys: tuple[re.Pattern[str], ...]
    pem_headers: tuple[re.Pattern[str], ...]
    key_needs: tuple[Needs, ...] = ()

    @classmethod
    def build(cls) -> SecretPatterns:
        # One pass for all our shapes: each match is a whole run of key characters
        # (the boundaries) and no two shapes match at one start, so the alternation
        # finds exactly what separate passes would, for a twelfth of the scanning.
        shapes = "|".join(f"(?:{p})" for p in _EXTRA_KEY_PATTERNS)
        extra = [re.compile(_BOUNDARY_BEFORE + f"(?:{shapes})" + _BOUNDARY_AFTER),
                 re.compile(_BOUNDARY_BEFORE + f"(?:{_BEARER})" + _BOUNDARY_AFTER)]
        headers = tuple(
            re.compile(r"-----" + p.pattern + r"[A-Z ]*-----|" + p.pattern)
            for p in PrivateKeyDetector.denylist
        )
        keys = tuple(_plugin_patterns() + extra)
        needs = tuple(required(p.pattern, p.flags & (re.I | re.M | re.S)) for p in keys)
        return cls(keys=keys, pem_headers=headers, key_needs=needs)


def find_private_keys(text: str, patterns: SecretPatterns) -> Iterator[Span]:
    for header in patterns.pem_headers:
        for match in header.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            if text[start:match.start()].strip(" \t-") != "":
                start = match.start()
            end_match = _PEM_END.search(text, match.end())
            if end_match is not None and "\n\n\n" not in text[match.end():end_match.start()]:
                yield start, end_match.end()
                continue
            # Truncated paste: take the base64 body lines that follow.
            end = match.end()
            line_end = text.find("\n", end)
            end = len(text) if line_end < 0 else line_end + 1
            while end < len(text):
                body = _PEM_BODY_LINE.match(text, end)
                if body is None or body.end() == end or not body.group().strip():
                    break
                end = body.end()
            yield start, end


def find_jwts(text: str) -> Iterator[Span]:
    for pattern in JwtTokenDetector.denylist:
        for match in re.finditer(_BOUNDARY_BEFORE + pattern.pattern + r"[A-Za-z0-9_\-]*", text):
            token = match.group().rstrip(".")
            if JwtTokenDetector.is_formally_valid(token) and token.count(".") >= 1:
                yield match.start(), match.start() + len(token)


def find_keys(text: str, patterns: SecretPatterns) -> Iterator[Span]:
    runs = text_runs(text)
    for pattern, needs in zip(patterns.keys, patterns.key_needs, strict=True):
        if not needs.admit(text, runs):
            continue
        for match in pattern.finditer(text):
            group = 0
            if pattern.groups and match.group(1) is not None and len(match.group(1)) >= 16:
                group = 1
            start, end = match.span(group)
            value = match.group(group)
            start += len(value) - len(value.lstrip(" \t\n=:\"'"))
            end -= len(value) - len(value.rstrip(" \t\n\"'"))
            if end - start >= 8:
                yield start, end


_B64 = Base64HighEntropyString()
_HEXP = HexHighEntropyString()


def _looks_random(token: str) -> bool:
    if _HEX.fullmatch(token):
        has_letter = any(c.isalpha() for c in token)
        return has_letter and _HEXP.calculate_shannon_entropy(token) >= 3.0
    classes = sum((any(c.islower() for c in token), any(c.isupper() for c in token),
                   any(c.isdigit() for c in token)))
    if classes < 3:
        return False
    limit = min(4.5, math.log2(len(token)) - 0.75)
    return _B64.calculate_shannon_entropy(token) >= limit


def find_high_entropy(text: str, *, min_length: int = 20, keep_digests: bool = True
                      ) -> Iterator[Span]:
    for match in _ASSIGNMENT.finditer(text):
        yield match.span("value")
    for match in _TOKEN.finditer(text):
        token = match.group().strip("=-_")
        start = match.start() + match.group().find(token)
        if len(token) < min_length or _UUID.fullmatch(token):
            continue
        if keep_digests and _HEX.fullmatch(token) and len(token) in _DIGEST_LENGTHS:
            before = text[max(0, start - 40):start]
            if not _KEYWORD_NEAR.search(before) or before.rstrip().endswith(("sha256:", "sha1:")):
                continue
            yield start, start + len(token)
            continue
        if _looks_random(token):
            yield start, start + len(token)
