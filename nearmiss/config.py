"""Reading TOML config files with errors that name the file, the key and the reason.

Only the mechanics live here (typed getters over a parsed table); each component defines
its own config dataclass (authority.config, node.config). Relative paths in a config
file are resolved against the file's own directory, so a config works from any cwd.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError


@dataclass(frozen=True)
class ConfigTable:
    """One table of a config file, remembering where it came from for error messages."""

    source: Path
    prefix: str
    values: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> ConfigTable:
        path = Path(path)
        try:
            with path.open("rb") as handle:
                values = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError("does not exist", source=str(path)) from None
        except OSError as error:
            raise ConfigError(f"cannot be read: {error.strerror}", source=str(path)) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"is not valid TOML: {error}", source=str(path)) from None
        return cls(path.resolve(), "", values)

    def _key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def _error(self, name: str, reason: str) -> ConfigError:
        return ConfigError(reason, source=str(self.source), key=self._key(name))

    def table(self, name: str, *, required: bool = True) -> ConfigTable:
        value = self.values.get(name)
        if value is None:
            if required:
                raise self._error(name, "is missing (a [table] is required)")
            value = {}
        if not isinstance(value, dict):
            raise self._error(name, "must be a table")
        return ConfigTable(self.source, self._key(name), value)

    def tables(self) -> dict[str, ConfigTable]:
        """Every sub-table, by name (e.g. each [parties.NAME])."""
        return {
            name: self.table(name) for name, value in self.values.items() if isinstance(value, dict)
        }

    def string(self, name: str, default: str | None = None) -> str:
        value = self.values.get(name, default)
        if value is None:
            raise self._error(name, "is missing")
        if not isinstance(value, str) or not value:
            raise self._error(name, "must be a non-empty string")
        return value

    def optional_string(self, name: str) -> str | None:
        if name not in self.values:
            return None
        return self.string(name)

    def integer(self, name: str, default: int | None = None, *, minimum: int = 0) -> int:
        value = self.values.get(name, default)
        if value is None:
            raise self._error(name, "is missing")
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._error(name, "must be an integer")
        if value < minimum:
            raise self._error(name, f"must be at least {minimum}, got {value}")
        return value

    def number(self, name: str, default: float | None = None, *, minimum: float = 0.0) -> float:
        value = self.values.get(name, default)
        if value is None:
            raise self._error(name, "is missing")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._error(name, "must be a number")
        if value < minimum:
            raise self._error(name, f"must be at least {minimum}, got {value}")
        return float(value)

    def boolean(self, name: str, default: bool | None = None) -> bool:
        value = self.values.get(name, default)
        if not isinstance(value, bool):
            raise self._error(name, "must be true or false")
        return value

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.values.get(name, default)
        if value is None:
            raise self._error(name, "is missing")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._error(name, "must be a list of strings")
        return list(value)

    def path(self, name: str, default: str | None = None, *, must_exist: bool = False) -> Path:
        """A path, relative paths taken from the config file's directory."""
        path = Path(self.string(name, default)).expanduser()
        if not path.is_absolute():
            path = self.source.parent / path
        if must_exist and not path.exists():
            raise self._error(name, f"points to {path}, which does not exist")
        return path

    def optional_path(self, name: str) -> Path | None:
        return self.path(name) if name in self.values else None


@dataclass(frozen=True)
class TlsFiles:
    """The mutual-TLS material of one party."""

    ca_certificate: Path
    certificate: Path
    private_key: Path

    @classmethod
    def from_table(cls, table: ConfigTable) -> TlsFiles:
        return cls(
            ca_certificate=table.path("ca_certificate", must_exist=True),
            certificate=table.path("certificate", must_exist=True),
            private_key=table.path("private_key", must_exist=True),
        )

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(CA certificate, certificate chain, private key) as PEM bytes."""
        return (
            self.ca_certificate.read_bytes(),
            self.certificate.read_bytes(),
            self.private_key.read_bytes(),
        )
