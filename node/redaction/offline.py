"""Keep the redaction stack off the network.

Rule this module enforces: redaction never opens a connection. Presidio's e-mail and
URL recognizers call ``tldextract.extract``, whose module-level extractor would fetch
the public-suffix list over HTTP on first use; we point it at no URLs so it reads its
own cache or the snapshot bundled in the wheel. This is process configuration (set
once, idempotent), and it must run before the first recognizer is used.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"


def make_tldextract_offline() -> None:
    """Configure tldextract, imported or not, to never fetch the suffix list."""
    # For extractors built later (tldextract reads the variable at construction).
    os.environ[ENV_VAR] = ""
    module = sys.modules.get("tldextract.tldextract")
    if module is not None:
        # The module-level extractor was built at import time with the default URLs.
        module.TLD_EXTRACTOR.suffix_list_urls = ()
