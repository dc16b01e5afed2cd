"""The daemon's hooks in process: watchdog beats between messages, the last-poll record,
a reload applied in the loop (never in the signal handler), a stop announced by the loop."""

from __future__ import annotations

import io
import random
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from mailbot import logs
from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form
from mailbot.service.daemon import HEARTBEAT_SECONDS, Supervisor
from mailbot.service.health import LAST_POLL_KEY, STARTED_KEY
from mailbot.service.systemd import Notifier, Watchdog
from tests.conftest import TODAY, FixedClock
from tests.integration.conftest import Send

POLICE = "pc.adams@west-midlands.pnn.police.uk"


class CountingWatchdog(Watchdog):
    def __init__(self) -> None:
        super().__init__(Notifier(None), 1.0)
        self.beats = 0

    def beat(self) -> bool:
        self.beats += 1
        return True


def _supervise(app: App, workspace: Path) -> tuple[Supervisor, CountingWatchdog]:
    watchdog = CountingWatchdog()
    supervisor = Supervisor(
        app, app.runner(), workspace / "mailbot.toml", logs.get_logger(), Notifier(None), watchdog
    )
    return supervisor, watchdog


def test_the_watchdog_is_fed_after_every_message_and_the_poll_recorded(
    app: App, send: Send, workspace: Path, clock: FixedClock
) -> None:
    """GIVEN three referrals waiting
    WHEN the supervised runner processes them in one pass, and passes again 10 s and 40 s later
    THEN the watchdog is fed after each message, the last poll is recorded after the first
    pass and then only once HEARTBEAT_SECONDS have passed."""
    for n in range(3):
        send(POLICE, render_form(sample_form(random.Random(n), referral_date=TODAY)))
    supervisor, watchdog = _supervise(app, workspace)
    supervisor.runner.run_once()
    assert watchdog.beats >= 3
    assert app.store.state_get(LAST_POLL_KEY) == clock.now().isoformat()
    first = clock.now()
    clock.current = first + timedelta(seconds=10)
    supervisor.runner.run_once()
    assert app.store.state_get(LAST_POLL_KEY) == first.isoformat()
    clock.current = first + timedelta(seconds=HEARTBEAT_SECONDS + 10)
    supervisor.runner.run_once()
    assert app.store.state_get(LAST_POLL_KEY) == clock.current.isoformat()


def test_a_clock_that_jumps_back_does_not_stop_the_heartbeat(
    app: App, workspace: Path, clock: FixedClock
) -> None:
    """GIVEN a supervised runner that recorded its last poll with the clock a year ahead
    WHEN the wall clock jumps back to now and the monotonic clock moves on past the heartbeat
    THEN the last poll is recorded again, with the time as it now reads (the throttle is on
    the monotonic clock; by the wall it would wait a year)."""
    ticks = {"now": 0.0}
    clock.monotonic = lambda: ticks["now"]  # type: ignore[attr-defined]
    now = clock.current
    clock.current = now.replace(year=now.year + 1)
    supervisor, _ = _supervise(app, workspace)
    supervisor.runner.run_once()
    assert app.store.state_get(LAST_POLL_KEY) == clock.current.isoformat()
    clock.current = now
    ticks["now"] += HEARTBEAT_SECONDS + 1
    supervisor.runner.run_once()
    assert app.store.state_get(LAST_POLL_KEY) == now.isoformat()


def test_signals_only_set_flags_and_the_loop_acts_on_them(
    app: App, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a supervised runner
    WHEN SIGHUP's handler runs after the config file changed, then SIGTERM's
    THEN nothing changes and nothing is logged inside the handlers; the next tick of the loop
    reloads the configuration, and the stop is announced by the loop."""
    supervisor, _ = _supervise(app, workspace)
    config = workspace / "mailbot.toml"
    config.write_text(config.read_text().replace("dash_yes_minimum = 14", "dash_yes_minimum = 12"))
    stream = io.StringIO()
    logs.configure("json", "debug", stream=stream)
    try:
        supervisor.request_reload(signal.SIGHUP)
        assert app.config.threshold.dash_yes_minimum == 14
        assert stream.getvalue() == ""
        supervisor.on_tick(supervisor.runner)
        assert app.config.threshold.dash_yes_minimum == 12
        assert '"config.changed"' in stream.getvalue()
        before = stream.getvalue()
        supervisor.request_stop(signal.SIGTERM)
        assert supervisor.runner.stop.is_set()
        assert stream.getvalue() == before
        supervisor.on_tick(supervisor.runner)
        assert '"service.stopping"' in stream.getvalue()
    finally:
        logs.reset()


def test_the_start_is_recorded_and_logged_without_empty_values(
    app: App, workspace: Path, clock: FixedClock
) -> None:
    """GIVEN a supervised runner outside systemd (no watchdog), then under one with a watchdog
    WHEN it reports ready
    THEN its start is recorded for `mailbot status`, and the start-up log line carries the
    watchdog's seconds only when there is one (never `seconds=null`)."""
    stream = io.StringIO()
    logs.configure("console", "info", stream=stream)
    try:
        Supervisor(
            app, app.runner(), workspace / "mailbot.toml", logs.get_logger(), Notifier(None)
        ).ready()
        _supervise(app, workspace)[0].ready()
    finally:
        logs.reset()
    assert app.store.state_get(STARTED_KEY) == clock.now().isoformat()
    plain, watched = stream.getvalue().splitlines()
    assert "event=service.ready" in plain
    assert "seconds" not in plain
    assert "seconds=1.0" in watched
