"""Shared console output for the CLI: one rich Console per stream, and the error exit.

Rule: every command reports failure as ``error: <message>`` on stderr and exits
non-zero (2 for a problem with input or config, 1 for anything else).
"""

from __future__ import annotations

import sys

from rich.console import Console

from nearmiss.errors import ConfigError, NearmissError, ReportInvalidError

stdout = Console()
stderr = Console(stderr=True)


def report_error(error: NearmissError) -> int:
    """Print ``error`` for a person; return the exit code to use."""
    stderr.print(f"[bold red]error:[/] {error}", highlight=False, markup=True, soft_wrap=True)
    if isinstance(error, ReportInvalidError) and len(error.problems) > 1:
        for field, reason in error.problems:
            stderr.print(f"  • {field or '(report)'}: {reason}", highlight=False, markup=False)
    return 2 if isinstance(error, ReportInvalidError | ConfigError) else 1


def announce(line: str) -> None:
    """Print a line that supervisors parse (``listening on HOST:PORT``) in one write.

    ``print`` writes the text and the newline separately; when stdout and stderr share a
    file, a log line from another thread can land between them and glue itself to the
    address a supervisor reads."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
