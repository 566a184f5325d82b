"""``python -m node …``: the node's commands alone, without composing the authority's.

Same commands and exit codes as ``nearmiss node …``; it starts faster because it does
not import the authority (which a lab's machine may not even have configured).
"""

from __future__ import annotations

import sys

from nearmiss.console import report_error
from nearmiss.errors import NearmissError
from node.cli import app


def main() -> None:
    try:
        app(prog_name="nearmiss node")
    except NearmissError as error:
        sys.exit(report_error(error))


if __name__ == "__main__":
    main()
