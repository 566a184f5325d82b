"""Entry point of the ingest process: ``python -m authority.ingest_child FD``.

FD is the child's end of the socket pair ``authority.ingest_process.IngestProcess``
created; everything else (settings, the parent's pid) arrives over it.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from authority.ingest_process import child_main

if __name__ == "__main__":
    child_main(Connection(int(sys.argv[1])))
