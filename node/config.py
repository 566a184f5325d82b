"""node.toml: what one lab node needs.

Example (``nearmiss pki init`` writes one per lab)::

    [node]
    lab_id = "lab-aurora"
    data_dir = "data"                      # node.db: outbox, receipts, alerts (SQLite)

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
    include_default = true                 # false: only the packs above (you own all rules)

    [local_api]
    listen = "127.0.0.1:50061"             # or "unix:///path/node.sock"; "" turns it off
    socket_mode = "0600"                   # unix sockets only: 0600 or 0660

    [outbox]
    batch_size = 50                        # reports per streaming call
    retry_initial_s = 1.0                  # first retry delay; doubles per attempt
    retry_max_s = 300.0                    # cap on the delay (jitter takes up to half off)
    poll_s = 1.0                           # how often `serve` looks for newly queued reports

    [alerts]
    enabled = true                         # keep a SubscribeAlerts stream open in `serve`
    command = "/usr/local/bin/page-oncall --json"   # optional: run per alert, JSON on stdin
    directory = "alerts"                   # optional: one JSON file per alert

Rules: relative paths are resolved against the file's directory; the local API listens on
loopback or a unix socket only (it has no TLS and no client authentication, so it must
not be reachable from another machine); unknown values are refused with file and key.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.config import ConfigTable, TlsFiles
from nearmiss.errors import ConfigError

DEFAULT_LOCAL_API = "127.0.0.1:50061"
SOCKET_MODES = {"0600": 0o600, "0660": 0o660}


@dataclass(frozen=True)
class OutboxSettings:
    batch_size: int = 50
    retry_initial_s: float = 1.0
    retry_max_s: float = 300.0
    poll_s: float = 1.0


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
    redaction_include_default: bool = True
    local_api_listen: str = DEFAULT_LOCAL_API
    local_api_socket_mode: int = 0o600
    outbox: OutboxSettings = OutboxSettings()
    alerts_enabled: bool = True
    alert_command: str | None = None
    alert_directory: Path | None = None
    source: Path | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "node.db"

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        root = ConfigTable.load(path)
        node = root.table("node")
        authority = root.table("authority")
        redaction = root.table("redaction", required=False)
        local_api = root.table("local_api", required=False)
        outbox = root.table("outbox", required=False)
        alerts = root.table("alerts", required=False)
        listen = local_api.values.get("listen", DEFAULT_LOCAL_API)
        if listen != "":
            listen = local_api.string("listen", DEFAULT_LOCAL_API)
            check_local_listen(listen, source=str(root.source))
            listen = absolute_socket(listen, root.source.parent)
        mode_text = local_api.string("socket_mode", "0600")
        if mode_text not in SOCKET_MODES:
            raise ConfigError(
                f"must be one of {', '.join(sorted(SOCKET_MODES))}",
                source=str(root.source),
                key="local_api.socket_mode",
            )
        defaults = OutboxSettings()
        return cls(
            lab_id=node.string("lab_id"),
            data_dir=node.path("data_dir", "data"),
            authority_address=authority.string("address"),
            authority_server_name=authority.string("server_name", "localhost"),
            authority_public_key=authority.path("signing_public_key", must_exist=True),
            tls=TlsFiles.from_table(root.table("tls")),
            signing_key_path=root.table("signing").path("private_key", must_exist=True),
            redaction_packs=[
                redaction.path(f"packs[{n}]", p)
                for n, p in enumerate(redaction.strings("packs", []))
            ],
            redaction_include_default=redaction.boolean("include_default", True),
            local_api_listen=listen,
            local_api_socket_mode=SOCKET_MODES[mode_text],
            outbox=OutboxSettings(
                batch_size=outbox.integer("batch_size", defaults.batch_size, minimum=1),
                retry_initial_s=outbox.number(
                    "retry_initial_s", defaults.retry_initial_s, minimum=0.01
                ),
                retry_max_s=outbox.number("retry_max_s", defaults.retry_max_s, minimum=0.01),
                poll_s=outbox.number("poll_s", defaults.poll_s, minimum=0.01),
            ),
            alerts_enabled=alerts.boolean("enabled", True),
            alert_command=alerts.optional_string("command"),
            alert_directory=alerts.optional_path("directory"),
            source=root.source,
        )


def socket_path(listen: str) -> Path | None:
    """The filesystem path of a ``unix:`` address (``unix:/p``, ``unix:///p``, ``unix:p``)."""
    if not listen.startswith("unix:"):
        return None
    rest = listen.removeprefix("unix:")
    return Path("/" + rest.lstrip("/")) if rest.startswith("//") else Path(rest)


def absolute_socket(listen: str, base: Path) -> str:
    """A unix address with a relative path made absolute against the config directory."""
    path = socket_path(listen)
    if path is None:
        return listen
    return f"unix:{path if path.is_absolute() else (base / path).resolve()}"


def check_local_listen(listen: str, *, source: str | None = None) -> None:
    """Refuse any local API address another machine could reach."""
    if listen.startswith("unix:"):
        if not listen.removeprefix("unix:").lstrip("/"):
            raise ConfigError("names no socket path", source=source, key="local_api.listen")
        return
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit():
        raise ConfigError(
            f"must be HOST:PORT or unix:PATH, got {listen!r}", source=source, key="local_api.listen"
        )
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"must be a loopback address or a unix socket, got {host!r}: the local API has "
            "no TLS and no client authentication",
            source=source,
            key="local_api.listen",
        )
