"""The committed stubs and JSON Schema must match their sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nearmiss.reportfile import report_json_schema
from tests.conftest import REPO


def test_stubs_match_proto(tmp_path: Path) -> None:
    subprocess.run(
        [str(REPO / "scripts" / "gen-proto"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    generated = sorted(p.name for p in (tmp_path / "nearmiss" / "v1").iterdir())
    committed = sorted(
        p.name for p in (REPO / "nearmiss" / "v1").iterdir() if p.suffix in (".py", ".pyi")
    )
    assert generated == committed
    for name in generated:
        assert (tmp_path / "nearmiss" / "v1" / name).read_bytes() == (
            REPO / "nearmiss" / "v1" / name
        ).read_bytes(), f"nearmiss/v1/{name} is stale: run scripts/gen-proto"


def test_report_schema_is_current() -> None:
    committed = json.loads((REPO / "nearmiss" / "schemas" / "report.schema.json").read_text())
    assert committed == report_json_schema(), (
        "run: nearmiss schema -o nearmiss/schemas/report.schema.json"
    )
