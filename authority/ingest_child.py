"""Entry point of the ingest process: ``python -m authority.ingest_child FD``.

FD is the child's end of the control socket pair ``authority.ingest_process.IngestProcess``
created; everything else (settings, the parent's pid, the callers' connections) arrives
over it.
"""

from __future__ import annotations

import socket
import sys

from authority.ingest_process import child_main

if __name__ == "__main__":
    child_main(socket.socket(fileno=int(sys.argv[1])))
