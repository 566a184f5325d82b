"""How the gRPC process and the ingest process talk: one connection per calling thread.

Why one connection per thread: with one shared pipe, every answer crossed two threads
in the gRPC process (an answer thread read the batch, then woke each caller through a
Future). A caller blocking on a socket of its own is woken by the kernel with its answer
in hand. Driving ``IngestProcess.submit`` from 16 threads on the reference machine, the
gRPC process's CPU per report fell from 0.11 to 0.055 ms and throughput rose ~20%
(benchmarks/load/RESULTS.md, fourth pass). The child watches every connection at once,
so a batch is still everything that is waiting.

Rules:

* The control socket (the pair the child was started with) carries the start-up
  handshake as ``multiprocessing`` messages (settings and the parent's pid, then READY
  or why not), then only one-byte messages: CONNECT with one file descriptor (a calling
  thread's new connection) or STOP. Its end-of-file means the other side is gone.
* A thread's connection carries one request at a time, then its answer, each a frame
  (4-byte length, then the bytes). A request is the calling party (pickled once per
  party) and the SignedReport bytes as they came; an answer is a tag byte and the
  receipt's bytes, our error (pickled), or nothing (the child failed; its log says why).
* A caller that stops waiting closes its connection, so a late answer can never be
  read as the answer to its next call.
* Both ends are our own processes on a socket pair nobody else holds; pickle carries
  only what they produced themselves (parties, our errors).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass

from nearmiss.errors import NearmissError
from nearmiss.identity import Party

logger = logging.getLogger("nearmiss.authority")

CONNECT = b"c"
STOP = b"s"

Request = tuple[int, Party, bytes]
"""(request id, calling lab, SignedReport bytes), as the child's loop sees a request."""

Answer = bytes | NearmissError | None
"""Receipt bytes, our error for the caller, or None: the child failed (see its log)."""

_PARTY_LENGTH = struct.Struct("!H")
_FRAME_LENGTH = struct.Struct("!I")
# One read takes a whole request or answer (a few KiB) in the common case.
READ_SIZE = 64 * 1024
_RECEIPT, _ERROR, _FAILED = b"R", b"E", b"F"
# Distinct callers remembered on either side (a network has tens to hundreds of labs).
PARTY_CACHE_SIZE = 4096
# A connection counts as an active caller while it was last seen waiting this recently.
ACTIVE_WINDOW_S = 1.0


class PartyEncoder:
    """The parent's side: each party pickled once."""

    def __init__(self) -> None:
        self._encoded: dict[Party, bytes] = {}

    def request(self, party: Party, signed_report: bytes) -> bytes:
        encoded = self._encoded.get(party)
        if encoded is None:
            encoded = pickle.dumps(party)
            if len(self._encoded) >= PARTY_CACHE_SIZE:
                self._encoded.clear()
            self._encoded[party] = encoded
        return _PARTY_LENGTH.pack(len(encoded)) + encoded + signed_report


class PartyDecoder:
    """The child's side: each party unpickled once."""

    def __init__(self) -> None:
        self._decoded: dict[bytes, Party] = {}

    def request(self, frame: bytes) -> tuple[Party, bytes]:
        (length,) = _PARTY_LENGTH.unpack_from(frame)
        end = _PARTY_LENGTH.size + length
        encoded = frame[_PARTY_LENGTH.size:end]
        party = self._decoded.get(encoded)
        if party is None:
            party = pickle.loads(encoded)
            if not isinstance(party, Party):
                raise TypeError(f"a request named a {type(party).__name__}, not a Party")
            if len(self._decoded) >= PARTY_CACHE_SIZE:
                self._decoded.clear()
            self._decoded[encoded] = party
        return party, frame[end:]


def encode_answer(answer: Answer) -> bytes:
    if isinstance(answer, bytes):
        return _RECEIPT + answer
    if isinstance(answer, NearmissError):
        return _ERROR + pickle.dumps(answer)
    return _FAILED


def decode_answer(frame: bytes) -> Answer:
    tag, body = frame[:1], frame[1:]
    if tag == _RECEIPT:
        return body
    if tag == _ERROR:
        error = pickle.loads(body)
        if not isinstance(error, NearmissError):
            raise TypeError(f"the ingest process answered a {type(error).__name__}")
        return error
    return None


def send_frame(sock: socket.socket, payload: bytes) -> None:
    """One length-prefixed frame, in one write when it fits the socket's buffer."""
    sock.sendall(_FRAME_LENGTH.pack(len(payload)) + payload)


class FrameReader:
    """Whole frames out of a stream socket's bytes, however the reads split them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _FRAME_LENGTH.size:
            (length,) = _FRAME_LENGTH.unpack_from(self._buffer)
            end = _FRAME_LENGTH.size + length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_FRAME_LENGTH.size:end]))
            del self._buffer[:end]
        return frames


def bound_waits(sock: socket.socket, seconds: float) -> None:
    """Bound each send and receive on ``sock`` by ``seconds``, in the kernel.

    Why not ``settimeout``: a Python socket with a timeout polls before every send and
    every receive, two more system calls and two more releases of the interpreter lock
    per call, in the process where ~20 threads compete for it. A blocking socket with
    SO_SNDTIMEO / SO_RCVTIMEO waits in the call itself; ``exchange`` turns the kernel's
    EAGAIN into TimeoutError."""
    whole = int(seconds)
    interval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setblocking(True)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)


def exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send one request and read its answer (``bound_waits`` bounds each send and read).

    Raises EOFError when the child closed the connection, TimeoutError (an OSError)
    when it did not answer in time."""
    try:
        send_frame(sock, request)
        reader = FrameReader()
        while True:
            data = sock.recv(READ_SIZE)
            if not data:
                raise EOFError("the ingest process closed the connection")
            frames = reader.feed(data)
            if frames:
                return frames[0]
    except BlockingIOError:  # SO_RCVTIMEO / SO_SNDTIMEO ran out
        raise TimeoutError("the ingest process did not answer in time") from None


@dataclass
class _Caller:
    sock: socket.socket
    reader: FrameReader
    last_request_at: float = float("-inf")
    """When a request was last read from it: who was served least recently."""
    last_waiting_at: float = float("-inf")
    """When it was last seen with a request waiting, read or not: who takes turns."""


class ChildChannels:
    """The child's side: the control socket and every calling thread's connection.

    ``take`` reads what is waiting on each connection; ``answer`` sends each answer back
    on the connection its request came from. A connection whose caller is gone is
    dropped quietly: what that caller's report became is in the database, and its retry
    learns it."""

    def __init__(self, control: socket.socket) -> None:
        self._control = control
        self._poll = select.poll()
        self._poll.register(control, select.POLLIN)
        self._callers: dict[int, _Caller] = {}
        self._waiting: dict[int, _Caller] = {}
        self._next_id = 0
        self._parties = PartyDecoder()
        self.stopped = False

    def take(self, limit: int, *, block: bool) -> list[Request]:
        """Waiting requests, about ``limit`` at most (whole reads are kept). With
        ``block``, wait until there is one or the parent says stop (or is gone);
        without, only look."""
        requests: list[Request] = []
        control = self._control.fileno()
        while not self.stopped and limit > 0:
            ready = [fd for fd, _events in self._poll.poll(None if block else 0)]
            if control in ready:
                ready.remove(control)
                self._control_message()
            now = time.monotonic()
            for fd in ready:
                self._callers[fd].last_waiting_at = now
            if len(ready) > limit - len(requests):
                # More are waiting than this batch takes: the least recently served
                # first, so that no caller waits behind the same others every time.
                ready.sort(key=lambda fd: self._callers[fd].last_request_at)
            for fd in ready:
                if len(requests) >= limit or self.stopped:
                    break
                self._callers[fd].last_request_at = now
                requests.extend(self._read(fd))
            if requests or not block:
                break
        return requests

    def active_callers(self) -> int:
        """Connections seen with a request waiting in the last ``ACTIVE_WINDOW_S``: how
        many callers are taking turns right now (the gRPC process's idle threads keep
        their connections, so the number of connections says less). Waiting, not only
        read: after a quiet spell a burst counts in full at the first look, not one
        caller per batch."""
        since = time.monotonic() - ACTIVE_WINDOW_S
        return sum(1 for caller in self._callers.values() if caller.last_waiting_at >= since)

    def answer(self, answers: Iterable[tuple[int, Answer]]) -> None:
        for request_id, answer in answers:
            caller = self._waiting.pop(request_id, None)
            if caller is None:
                continue
            try:
                send_frame(caller.sock, encode_answer(answer))
            except OSError:  # the caller stopped waiting and closed its end
                self._drop(caller.sock.fileno())

    def close(self) -> None:
        for caller in self._callers.values():
            caller.sock.close()
        self._callers.clear()

    def _control_message(self) -> None:
        try:
            message, fds, _flags, _address = socket.recv_fds(self._control, 1, 1)
        except OSError:
            message, fds = b"", []
        if message == CONNECT:
            for fd in fds:
                self._callers[fd] = _Caller(socket.socket(fileno=fd), FrameReader())
                self._poll.register(fd, select.POLLIN)
            return
        for fd in fds:  # not expected with STOP or end-of-file; never leak one
            os.close(fd)
        self.stopped = True  # STOP, or end-of-file: the parent is gone

    def _read(self, fd: int) -> list[Request]:
        caller = self._callers[fd]
        try:
            data = caller.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data:  # that thread's connection closed (timeout, restart, thread ended)
            self._drop(fd)
            return []
        requests: list[Request] = []
        for frame in caller.reader.feed(data):
            try:
                party, signed_report = self._parties.request(frame)
            except Exception as error:  # our own bug: no caller should wait on it forever
                logger.error("an undecodable request from the gRPC process: %s",
                             type(error).__name__)
                self._drop(fd)
                return requests
            self._next_id += 1
            self._waiting[self._next_id] = caller
            requests.append((self._next_id, party, signed_report))
        return requests

    def _drop(self, fd: int) -> None:
        caller = self._callers.pop(fd, None)
        if caller is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._poll.unregister(fd)
            caller.sock.close()
