"""The wire between the gRPC process and the ingest process (authority.ingest_wire), on
real socket pairs: frames survive any split, answers keep their kind, each answer goes
back to the connection its request came from, and a caller that hangs up or a parent
that says stop is noticed."""

from __future__ import annotations

import pickle
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from authority.ingest_wire import (
    CONNECT,
    STOP,
    ChildChannels,
    FrameReader,
    PartyDecoder,
    PartyEncoder,
    bound_waits,
    decode_answer,
    encode_answer,
    exchange,
    send_frame,
)
from nearmiss.errors import ConflictError, ReportInvalidError
from nearmiss.identity import Party, Role

AURORA = Party("lab-aurora", Role.LAB, 7)
BOREALIS = Party("lab-borealis", Role.LAB, 8)


def framed(payload: bytes) -> bytes:
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, payload)
        a.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: b.recv(7), b""))


def test_frames_come_out_whole_however_the_bytes_are_split() -> None:
    payloads = [b"first", b"", bytes(range(256)) * 300, b"last"]
    stream = b"".join(framed(p) for p in payloads)
    for chunk in (1, 3, 4, 5, 1000, len(stream)):
        reader = FrameReader()
        frames = []
        for start in range(0, len(stream), chunk):
            frames.extend(reader.feed(stream[start:start + chunk]))
        assert frames == payloads, f"chunks of {chunk} bytes"


def test_answers_keep_their_kind() -> None:
    assert decode_answer(encode_answer(b"\x00receipt")) == b"\x00receipt"
    assert decode_answer(encode_answer(None)) is None
    error = decode_answer(encode_answer(ConflictError("report r-1 is already stored")))
    assert isinstance(error, ConflictError)
    assert str(error) == "report r-1 is already stored"
    invalid = decode_answer(encode_answer(ReportInvalidError("is required", field="title")))
    assert isinstance(invalid, ReportInvalidError) and str(invalid) == str(
        ReportInvalidError("is required", field="title")
    )


def test_a_request_carries_its_party_and_the_report_bytes_untouched() -> None:
    encoder, decoder = PartyEncoder(), PartyDecoder()
    for party, body in [(AURORA, b"signed-1"), (BOREALIS, b""), (AURORA, b"\x00" * 70000)]:
        assert decoder.request(encoder.request(party, body)) == (party, body)


def test_a_request_naming_something_other_than_a_party_is_refused() -> None:
    bogus = pickle.dumps(("lab-aurora", "LAB"))
    with pytest.raises(TypeError, match="not a Party"):
        PartyDecoder().request(len(bogus).to_bytes(2, "big") + bogus + b"body")


@pytest.fixture
def control() -> Iterator[tuple[socket.socket, ChildChannels]]:
    parent, child = socket.socketpair()
    channels = ChildChannels(child)
    try:
        yield parent, channels
    finally:
        channels.close()
        parent.close()
        child.close()


def connect(parent_control: socket.socket) -> socket.socket:
    ours, theirs = socket.socketpair()
    socket.send_fds(parent_control, [CONNECT], [theirs.fileno()])
    theirs.close()
    ours.settimeout(10)
    return ours


def test_each_answer_goes_back_to_the_connection_its_request_came_from(
    control: tuple[socket.socket, ChildChannels],
) -> None:
    parent, channels = control
    encoder = PartyEncoder()
    first, second = connect(parent), connect(parent)
    send_frame(first, encoder.request(AURORA, b"report-a"))
    send_frame(second, encoder.request(BOREALIS, b"report-b"))
    taken: list[tuple[int, Party, bytes]] = []
    while len(taken) < 2:
        taken += channels.take(10, block=True)
    by_body = {body: (request_id, party) for request_id, party, body in taken}
    assert by_body[b"report-a"][1] == AURORA and by_body[b"report-b"][1] == BOREALIS
    assert channels.take(10, block=False) == []
    channels.answer([(by_body[b"report-b"][0], b"receipt-b"),
                     (by_body[b"report-a"][0], ConflictError("taken"))])
    reader = FrameReader()
    assert decode_answer(reader.feed(second.recv(4096))[0]) == b"receipt-b"
    assert isinstance(decode_answer(FrameReader().feed(first.recv(4096))[0]), ConflictError)
    # The same connection carries the next request; exchange() is the parent's round trip.
    def answer_next() -> None:
        for request_id, _party, body in channels.take(10, block=True):
            channels.answer([(request_id, b"receipt-for-" + body)])

    child_side = threading.Thread(target=answer_next)
    child_side.start()
    assert decode_answer(exchange(first, encoder.request(AURORA, b"c"))) == b"receipt-for-c"
    child_side.join(10)
    first.close()
    second.close()


def test_a_caller_that_hung_up_is_dropped_and_its_answer_discarded(
    control: tuple[socket.socket, ChildChannels],
) -> None:
    parent, channels = control
    caller = connect(parent)
    send_frame(caller, PartyEncoder().request(AURORA, b"report"))
    [(request_id, _, _)] = channels.take(10, block=True)
    caller.close()  # e.g. it stopped waiting
    channels.answer([(request_id, b"receipt")])  # no error: dropped quietly
    assert channels.take(10, block=False) == []
    assert not channels.stopped


@pytest.mark.parametrize("how", ["stop", "parent gone"])
def test_stop_or_a_closed_control_socket_ends_taking(
    control: tuple[socket.socket, ChildChannels], how: str
) -> None:
    parent, channels = control
    if how == "stop":
        parent.send(STOP)
    else:
        parent.shutdown(socket.SHUT_WR)
    assert channels.take(10, block=True) == []
    assert channels.stopped


def test_a_bounded_wait_that_runs_out_is_a_timeout_and_an_answer_in_time_is_not() -> None:
    """``bound_waits`` keeps the socket blocking (no poll before each call) and lets the
    kernel end the wait; ``exchange`` says TimeoutError, as ``settimeout`` would."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        bound_waits(ours, 0.2)
        assert ours.gettimeout() is None  # blocking: Python adds no poll of its own
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            exchange(ours, b"nobody answers")
        assert time.monotonic() - started > 0.15
        send_frame(theirs, b"late but whole")  # the next exchange still works
        assert exchange(ours, b"again") == b"late but whole"


def wait_for_requests(channels: ChildChannels, count: int) -> None:
    """Until ``count`` connections have a request waiting (peeking, not taking)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready = [fd for fd, _ in channels._poll.poll(10) if fd in channels._callers]
        if len(ready) >= count:
            return
    raise AssertionError(f"{count} requests did not arrive")


def accept_connections(channels: ChildChannels, count: int) -> None:
    """Let the child register ``count`` new connections (one CONNECT message per poll)."""
    deadline = time.monotonic() + 10
    while len(channels._callers) < count and time.monotonic() < deadline:
        assert channels.take(1, block=False) == []


def test_a_limited_take_serves_the_least_recently_served_caller_first(
    control: tuple[socket.socket, ChildChannels],
) -> None:
    """Three callers always waiting, one taken at a time: each is served in turn, none
    waits behind the same others every time (poll lists ready connections in a fixed
    order)."""
    parent, channels = control
    encoder = PartyEncoder()
    callers = [connect(parent) for _ in range(3)]
    accept_connections(channels, 3)
    for n, caller in enumerate(callers):
        send_frame(caller, encoder.request(AURORA, f"first-{n}".encode()))
    served: list[bytes] = []
    for _ in range(6):
        wait_for_requests(channels, 3)
        [(request_id, _party, body)] = channels.take(1, block=True)
        served.append(body)
        channels.answer([(request_id, b"receipt")])
        caller = callers[int(body.decode().rsplit("-", 1)[1])]
        FrameReader().feed(caller.recv(4096))
        send_frame(caller, encoder.request(AURORA, b"again-" + body.rsplit(b"-", 1)[1]))
    first_turn = {body.rsplit(b"-", 1)[1] for body in served[:3]}
    second_turn = {body.rsplit(b"-", 1)[1] for body in served[3:]}
    assert first_turn == second_turn == {b"0", b"1", b"2"}
    for caller in callers:
        caller.close()


def test_active_callers_are_the_connections_that_sent_recently(
    control: tuple[socket.socket, ChildChannels],
) -> None:
    parent, channels = control
    encoder = PartyEncoder()
    talking, silent = connect(parent), connect(parent)
    send_frame(talking, encoder.request(AURORA, b"report"))
    taken = channels.take(10, block=True)
    assert len(taken) == 1
    assert len(channels._callers) == 2  # both connected
    assert channels.active_callers() == 1
    talking.close()
    silent.close()


def test_callers_seen_waiting_count_as_active_before_they_are_read(
    control: tuple[socket.socket, ChildChannels],
) -> None:
    """After a quiet spell nobody is active; a burst of four counts as four at the first
    look, though that take reads only one (so the next batch may take half of them)."""
    parent, channels = control
    encoder = PartyEncoder()
    callers = [connect(parent) for _ in range(4)]
    accept_connections(channels, 4)
    assert channels.active_callers() == 0
    for n, caller in enumerate(callers):
        send_frame(caller, encoder.request(AURORA, f"burst-{n}".encode()))
    wait_for_requests(channels, 4)
    assert len(channels.take(1, block=True)) == 1
    assert channels.active_callers() == 4
    for caller in callers:
        caller.close()
