"""node.toml: what one lab node needs.

Example (``nearmiss pki init`` writes one per lab)::

    [node]
    lab_id = "lab-aurora"
    data_dir = "data"                      # outbox, receipts, alerts (SQLite)

    [authority]
    address = "127.0.0.1:50051"
    server_name = "localhost"              # the name in the authority's certificate
    signing_public_key = "../eu-ai-office/signing.pub"

    [tls]
    ca_certificate = "../ca/ca.pem"
    certificate = "tls.pem"
    private_key = "tls.key"

    [signing]
    private_key = "signing.key"

    [redaction]
    packs = []                             # extra redaction packs (YAML) after the default

    [local_api]
    listen = "127.0.0.1:50061"             # or "unix:///path/node.sock"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.config import ConfigTable, TlsFiles


@dataclass(frozen=True)
class NodeConfig:
    lab_id: str
    data_dir: Path
    authority_address: str
    authority_server_name: str
    authority_public_key: Path
    tls: TlsFiles
    signing_key_path: Path
    redaction_packs: list[Path] = field(default_factory=list)
    local_api_listen: str = "127.0.0.1:50061"
    alert_command: str | None = None
    alert_directory: Path | None = None
    source: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        root = ConfigTable.load(path)
        node = root.table("node")
        authority = root.table("authority")
        redaction = root.table("redaction", required=False)
        local_api = root.table("local_api", required=False)
        alerts = root.table("alerts", required=False)
        return cls(
            lab_id=node.string("lab_id"),
            data_dir=node.path("data_dir", "data"),
            authority_address=authority.string("address"),
            authority_server_name=authority.string("server_name", "localhost"),
            authority_public_key=authority.path("signing_public_key", must_exist=True),
            tls=TlsFiles.from_table(root.table("tls")),
            signing_key_path=root.table("signing").path("private_key", must_exist=True),
            redaction_packs=[
                redaction.path(f"packs[{n}]", p) for n, p in enumerate(redaction.strings("packs", []))
            ],
            local_api_listen=local_api.string("listen", "127.0.0.1:50061"),
            alert_command=alerts.optional_string("command"),
            alert_directory=alerts.optional_path("directory"),
            source=root.source,
        )
