"""A really small filesystem for one test: a tmpfs of a few MiB that the test fills to
the last byte with a ballast file, and frees again by deleting it.

Why a mount: only the kernel's own ENOSPC shows what a full disk does to the exact files
a process writes (an SQLite database, its WAL and shared-memory index) without filling
the machine's disk, and a tmpfs needs no image file, loop device or cleanup on disk.

Rules: mounting needs Linux and root (CAP_SYS_ADMIN). Where either is missing, or the
kernel refuses the mount (a container without the capability), the test is skipped with
that reason, in CI too. The filesystem is unmounted when the context exits, whatever
happened: lazily (``umount -l``) if a process still holds a file on it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BALLAST = "ballast"
_CHUNK = 64 * 1024
_TIMEOUT_S = 30


@dataclass(frozen=True)
class SmallFilesystem:
    path: Path

    def available_bytes(self) -> int:
        """What an unprivileged writer can still allocate here."""
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self) -> int:
        """Write the ballast until the kernel answers ENOSPC; returns its size in bytes.

        ``os.write`` returns a short count when the last block is taken, so the ballast
        ends exactly where the space does; nothing is left for anyone else.
        """
        written = 0
        zeros = bytes(_CHUNK)
        fd = os.open(self.path / BALLAST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while True:
                try:
                    written += os.write(fd, zeros)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        """Delete the ballast: the space is available again at once."""
        (self.path / BALLAST).unlink(missing_ok=True)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except FileNotFoundError:
        return subprocess.CompletedProcess(command, 127, "", f"no {command[0]} command")


@contextmanager
def small_filesystem(parent: Path, size_kib: int) -> Iterator[SmallFilesystem]:
    """A ``size_kib`` KiB tmpfs mounted at ``parent/small-fs`` for the ``with`` block."""
    if not sys.platform.startswith("linux"):
        pytest.skip(f"a tmpfs mount needs Linux; this is {sys.platform}")
    if os.geteuid() != 0:
        pytest.skip(
            f"mounting a tmpfs needs root (CAP_SYS_ADMIN); the tests run as uid {os.geteuid()}"
        )
    mount_point = parent / "small-fs"
    mount_point.mkdir(parents=True)
    mounted = _run(
        "mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "nearmiss-test",
        str(mount_point),
    )
    if mounted.returncode != 0:
        why = mounted.stderr.strip()[:300] or f"mount exited with {mounted.returncode}"
        pytest.skip(f"the kernel refused a tmpfs mount here: {why}")
    try:
        yield SmallFilesystem(mount_point)
    finally:
        if _run("umount", str(mount_point)).returncode != 0:
            _run("umount", "-l", str(mount_point))
