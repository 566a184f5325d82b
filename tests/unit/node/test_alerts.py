"""The alert inbox: resume from the stored cursor, no gaps, no duplicates; hooks run
without a shell, at least once, and write safe file names."""

from __future__ import annotations

import json
import stat
import sys
import threading
from pathlib import Path

import pytest

from nearmiss.errors import ConfigError
from node.alert_hooks import AlertHooks
from node.alert_stream import AlertSubscriber
from node.delivery import Backoff
from node.inbox import AlertInbox
from node.store import NodeStore
from tests.unit.node.fakes import FakeAlertFeed, make_alert


def _subscriber(store: NodeStore, feed: FakeAlertFeed, hooks: AlertHooks | None = None
                ) -> AlertSubscriber:
    return AlertSubscriber(
        inbox=AlertInbox(store), authority=feed, hooks=hooks, backoff=Backoff(0.01, 0.02)
    )


def test_reconnects_resume_after_stored_cursor_without_gaps_or_duplicates(
    store: NodeStore,
) -> None:
    alerts = [make_alert(cursor) for cursor in (3, 5, 6, 9, 12)]
    # Three connections drop after 2, 2 and 0 alerts (each resends the alert at the
    # resume cursor); the fourth serves the rest.
    feed = FakeAlertFeed(alerts, plan=[2, 2, 0, None])
    subscriber = _subscriber(store, feed)
    for _ in range(4):
        try:
            subscriber.run_once()
        except Exception as error:  # the scripted drops
            assert "stream reset" in str(error)
    assert feed.resumed_after == [0, 5, 6, 6]
    inbox = AlertInbox(store)
    held = [item.alert.cursor for item in inbox.recent()]
    assert held == [12, 9, 6, 5, 3]
    assert inbox.cursor() == 12


def test_run_loop_reconnects_until_stopped(store: NodeStore) -> None:
    feed = FakeAlertFeed([make_alert(c) for c in range(1, 6)], plan=[1, 1, 1, 1, 1, 1, 1, 1])
    subscriber = _subscriber(store, feed)
    thread = threading.Thread(target=subscriber.run)
    thread.start()
    inbox = AlertInbox(store)
    for _ in range(500):
        if inbox.cursor() == 5:
            break
        threading.Event().wait(0.01)
    subscriber.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert [a.alert.cursor for a in inbox.recent()] == [5, 4, 3, 2, 1]


def test_hooks_write_a_private_file_and_feed_the_command_json(
    store: NodeStore, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.jsonl"
    script = tmp_path / "hook.py"
    script.write_text(
        "import os, sys\n"
        f"with open({str(seen)!r}, 'a') as out:\n"
        "    out.write(os.environ['NEARMISS_ALERT_ID'] + '\\n' + sys.stdin.read())\n"
    )
    hooks = AlertHooks(
        command=f"{sys.executable} {script}", directory=tmp_path / "alerts"
    )
    # An alert id and title that would do harm through a shell or a path join.
    hostile = make_alert(7, title="$(touch pwned); rm -rf /")
    hostile.alert_id = "../../escape;touch pwned"
    feed = FakeAlertFeed([hostile], plan=[None])
    _subscriber(store, feed, hooks).run_once()
    written = list((tmp_path / "alerts").iterdir())
    assert [p.name for p in written] == ["00000000000000000007-.._.._escape_touch_pwned.json"]
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o600
    assert json.loads(written[0].read_text())["title"] == "$(touch pwned); rm -rf /"
    alert_id, payload = seen.read_text().split("\n", 1)
    assert alert_id == hostile.alert_id and json.loads(payload)["cursor"] == "7"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_failed_hook_is_retried_at_next_start(store: NodeStore, tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    script = tmp_path / "hook.py"
    script.write_text(
        f"import pathlib, sys\nsys.exit(0 if pathlib.Path({str(flag)!r}).exists() else 3)\n"
    )
    hooks = AlertHooks(command=f"{sys.executable} {script}")
    feed = FakeAlertFeed([make_alert(1)], plan=[None])
    _subscriber(store, feed, hooks).run_once()
    inbox = AlertInbox(store)
    assert inbox.get("alert-0001").hook_error == "the alert command exited with status 3"
    assert [a.alert_id for a in inbox.pending_hooks()] == ["alert-0001"]
    flag.touch()
    _subscriber(store, FakeAlertFeed([], plan=[None]), hooks).run_pending_hooks()
    assert inbox.get("alert-0001").hook_done and inbox.pending_hooks() == []


def test_unsplittable_command_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"alerts\.command"):
        AlertHooks(command='notify "unterminated')


def test_acknowledgement_is_recorded_once(store: NodeStore) -> None:
    inbox = AlertInbox(store)
    inbox.store(make_alert(1), now=5.0, hooks=False)
    inbox.mark_acknowledged("alert-0001", at=10.0)
    inbox.mark_acknowledged("alert-0001", at=20.0)
    assert inbox.get("alert-0001").acknowledged_at == 10.0
    assert inbox.recent(unacknowledged_only=True) == []
