"""Federation between institutes: FederationService on its own port, mutual TLS with
pinned peer CAs, a sending outbox per peer, provenance checked against the origin's
signed tree head, and de-duplication on receipt. See docs/FEDERATION.md.
"""

from authority.federation.component import (
    FederationComponent,
    federation_of,
    install_federation,
)
from authority.federation.config import FederationConfig, PeerConfig

__all__ = [
    "FederationComponent",
    "FederationConfig",
    "PeerConfig",
    "federation_of",
    "install_federation",
]
