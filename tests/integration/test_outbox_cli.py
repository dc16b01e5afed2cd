"""`mailbot outbox` as an operator works it, beside a sending app and a real relay.

The sending side is an app with a fixed clock (passes driven by hand); the operator's side is
the real command line on the same configuration, as it would run beside the daemon. What
matters: failed mail can be sent again and status clears, held mail is not sent until
released, a flush overrides a retry delay the sender holds in memory, a message in doubt can
be settled, and a command that cannot apply says why in one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App, open_app
from mailbot.cli import main
from mailbot.service.health import LAST_POLL_KEY, check_health
from tests.conftest import FixedClock
from tests.integration.relay import Relay, RunningRelay, running_relay
from tests.integration.test_send_faults import IDVA, POLICE, enqueue, smtp_config

REFUSED = 1


@pytest.fixture
def relay() -> Iterator[RunningRelay]:
    with running_relay(Relay()) as running:
        yield running


@pytest.fixture
def sending(workspace: Path, relay: RunningRelay) -> Iterator[App]:
    """The sending side: the app on an SMTP relay, its clock at the real time."""
    app = open_app(smtp_config(workspace, relay.port), FixedClock(datetime.now(UTC)))
    yield app
    app.close()


def outbox(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), "outbox", *args]
    )
    return result.exit_code, result.stdout, result.stderr


def send_pass(app: App, minutes: float = 1) -> None:
    clock = app.ctx.clock
    assert isinstance(clock, FixedClock)
    clock.current += timedelta(minutes=minutes)
    app.dispatcher().deliver_due(clock.now())


def states(workspace: Path) -> dict[int, str]:
    _, listed, _ = outbox(workspace, "list", "--json")
    return {int(r["id"]): str(r["state"]) for r in json.loads(listed)}


def problems(app: App) -> list[str]:
    app.store.state_set(LAST_POLL_KEY, app.ctx.clock.now().isoformat())
    return list(check_health(app.config, app.store, app.ctx.clock.now()).problems)


def test_failed_mail_is_sent_again_and_status_clears(
    workspace: Path, relay: RunningRelay, sending: App
) -> None:
    """GIVEN two alerts the relay refused (550), so failed and counted by status
    WHEN the operator runs `outbox retry --failed` once the address is fixed at the relay
    THEN both go, once each, and status no longer counts them."""
    relay.relay.behave(IDVA, "refuse", then="accept")
    relay.relay.behave(POLICE, "refuse", then="accept")
    first, second = enqueue(sending, IDVA, POLICE)
    send_pass(sending)
    assert states(workspace)[first] == states(workspace)[second] == "failed"
    assert any("2 outgoing message(s) failed" in p for p in problems(sending))
    code, out, _ = outbox(workspace, "retry", "--failed")
    assert code == 0
    assert out.startswith(f"2 message(s) to be sent again ({first}, {second})")
    send_pass(sending)
    assert states(workspace)[first] == states(workspace)[second] == "sent"
    assert relay.relay.copies() == 2 + 2  # the two alerts, and a notice to the team of each
    assert problems(sending) == []


def test_held_mail_waits_until_released_and_flush_overrides_a_retry_delay(
    workspace: Path, relay: RunningRelay, sending: App
) -> None:
    """GIVEN one alert held by the operator, and another the relay deferred (its retry delay
    kept in the sender's memory)
    WHEN passes run, then the operator releases the first and flushes
    THEN the held one is not sent while held; after release and flush both go at the next
    pass, once each."""
    relay.relay.behave(POLICE, "defer", then="accept")
    held, deferred = enqueue(sending, IDVA, POLICE)
    code, out, _ = outbox(workspace, "hold", str(held))
    assert (code, out.strip()) == (0, f"1 message(s) held ({held})")
    send_pass(sending, minutes=0)
    send_pass(sending, minutes=0)
    assert states(workspace) == {held: "held", deferred: "pending"}
    assert relay.relay.copies() == 0
    assert outbox(workspace, "release", "--all")[0] == 0
    code, out, _ = outbox(workspace, "flush")
    assert code == 0
    assert "due now" in out
    send_pass(sending, minutes=0.2)  # past the commands' time, well within the 30 s delay
    assert states(workspace) == {held: "sent", deferred: "sent"}
    assert relay.relay.copies() == 2


def test_mail_in_doubt_is_dismissed_and_a_sent_message_is_not_retried(
    workspace: Path, relay: RunningRelay, sending: App
) -> None:
    """GIVEN an alert the relay queued twice without answering (unknown), and one sent
    WHEN the operator dismisses the first (the IDVA confirmed it arrived) and tries to retry
    the sent one
    THEN the first is settled and status clears; the retry is refused in one line naming
    why, with exit 1, and nothing is sent again."""
    relay.relay.behave(IDVA, "drop", "drop", then="accept")
    doubtful, sent = enqueue(sending, IDVA, POLICE)
    send_pass(sending)
    send_pass(sending)
    assert states(workspace)[doubtful] == "unknown"
    assert any("may not have arrived" in p for p in problems(sending))
    code, _, _ = outbox(workspace, "dismiss", str(doubtful))
    assert code == 0
    assert not any("may not have arrived" in p for p in problems(sending))
    code, out, err = outbox(workspace, "retry", str(sent))
    assert code == REFUSED
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"mailbot: outbox {sent}: cannot retry: it was sent at")
    send_pass(sending)  # the notice to the team about the doubtful alert
    copies = relay.relay.by_message_id()
    send_pass(sending, minutes=60)
    assert relay.relay.by_message_id() == copies
    assert sorted(copies.values()) == [1, 1, 2]  # the alert in doubt, the other, the notice


def test_an_outbox_command_with_nothing_named_says_how(workspace: Path) -> None:
    """GIVEN the outbox commands
    WHEN one that acts is given no message ids and no option for all
    THEN it refuses with a usage error saying what to give."""
    code, _, err = outbox(workspace, "retry")
    assert code == 2
    assert "name the messages to retry" in err
