"""authority.toml: what one authority needs to run.

Example (``nearmiss pki init`` writes one)::

    [authority]
    id = "eu-ai-office"
    listen = "127.0.0.1:50051"
    database_url = "sqlite:///authority.db"    # or postgresql+psycopg://user@host/db
    data_dir = "data"

    [tls]
    ca_certificate = "../ca/ca.pem"
    certificate = "tls.pem"
    private_key = "tls.key"

    [signing]
    private_key = "signing.key"

    [revocation]
    revoked_serials_file = "revoked-serials.txt"   # one hex or decimal serial a line

    [parties.lab-aurora]
    role = "LAB"
    signing_public_key = "../lab-aurora/signing.pub"

A relative SQLite path is taken from the config file's directory, like every path here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.config import ConfigTable, TlsFiles
from nearmiss.errors import ConfigError
from nearmiss.identity import Role


@dataclass(frozen=True)
class PartyEntry:
    party_id: str
    role: Role
    signing_public_key: Path | None


@dataclass(frozen=True)
class LimitsConfig:
    """Hostile-input limits (see docs/SECURITY.md)."""

    max_message_bytes: int = 1 * 1024 * 1024
    requests_per_second: float = 200.0
    burst: int = 400
    clock_skew_future_seconds: int = 300
    max_report_age_days: int = 30


@dataclass(frozen=True)
class AuthorityConfig:
    authority_id: str
    listen: str
    database_url: str
    data_dir: Path
    tls: TlsFiles
    signing_key_path: Path
    revoked_serials_file: Path | None
    parties: dict[str, PartyEntry]
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    # Run ingest in a child process when serving (authority.ingest_process).
    ingest_process: bool = True
    source: Path | None = None
    extra: dict[str, ConfigTable] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> AuthorityConfig:
        root = ConfigTable.load(path)
        authority = root.table("authority")
        database_url = authority.string("database_url", "sqlite:///authority.db")
        database_url = resolve_sqlite_url(database_url, root.source.parent)
        parties: dict[str, PartyEntry] = {}
        for party_id, table in root.table("parties", required=False).tables().items():
            role_name = table.string("role")
            if role_name not in Role.__members__:
                raise ConfigError(
                    f"must be one of {', '.join(Role.__members__)}, got {role_name!r}",
                    source=str(root.source),
                    key=f"parties.{party_id}.role",
                )
            role = Role(role_name)
            key_path = table.optional_path("signing_public_key")
            if role is Role.LAB and key_path is None:
                raise ConfigError(
                    "is missing: a lab needs its Ed25519 public key to verify its reports",
                    source=str(root.source),
                    key=f"parties.{party_id}.signing_public_key",
                )
            parties[party_id] = PartyEntry(party_id, role, key_path)
        limits_table = root.table("limits", required=False)
        defaults = LimitsConfig()
        limits = LimitsConfig(
            max_message_bytes=limits_table.integer(
                "max_message_bytes", defaults.max_message_bytes, minimum=1024
            ),
            requests_per_second=limits_table.number(
                "requests_per_second", defaults.requests_per_second, minimum=0.001
            ),
            burst=limits_table.integer("burst", defaults.burst, minimum=1),
            clock_skew_future_seconds=limits_table.integer(
                "clock_skew_future_seconds", defaults.clock_skew_future_seconds
            ),
            max_report_age_days=limits_table.integer(
                "max_report_age_days", defaults.max_report_age_days, minimum=1
            ),
        )
        revocation = root.table("revocation", required=False)
        known = {"authority", "tls", "signing", "revocation", "parties", "limits"}
        return cls(
            authority_id=authority.string("id"),
            listen=authority.string("listen", "127.0.0.1:50051"),
            database_url=database_url,
            data_dir=authority.path("data_dir", "data"),
            tls=TlsFiles.from_table(root.table("tls")),
            signing_key_path=root.table("signing").path("private_key", must_exist=True),
            revoked_serials_file=revocation.optional_path("revoked_serials_file"),
            parties=parties,
            limits=limits,
            ingest_process=authority.boolean("ingest_process", True),
            source=root.source,
            extra={name: t for name, t in root.tables().items() if name not in known},
        )


def resolve_sqlite_url(url: str, base: Path) -> str:
    """Make ``sqlite:///relative.db`` relative to ``base`` (the config's directory)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url.removeprefix(prefix)).resolve())
    return url
