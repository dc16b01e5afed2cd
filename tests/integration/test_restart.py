"""Nothing is lost and nothing is processed twice, across restarts and crashes.

A crash is simulated in-process by raising a BaseException (which, like a kill, is not
caught by the runner) at each step, then mailbot is reopened from its files; and for real by
`kill -9` of a running daemon.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailbot.app import App, open_app
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder, Outcome
from tests.conftest import NOW, TODAY, FixedClock
from tests.integration.conftest import folder_count, sample

POLICE = "pc.adams@west-midlands.pnn.police.uk"
HOMES = "tenancy@wolverhamptonhomes.org.uk"


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in mailbot catches it."""


def _email(n: int, doc: bytes | None = None, sender: str = POLICE, **kw: str) -> bytes:
    if doc is None:
        doc = render_form(sample_form(random.Random(n), referral_date=TODAY))
    return compose(
        sender=sender,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject=kw.get("subject", "MARAC referral"),
        body=kw.get("body", "Referral attached."),
        attachments=[docx_attachment("r.docx", doc)] if doc else [],
        message_id=f"<restart-{n}@example.pnn.police.uk>",
        sent_at=NOW,
    )


@pytest.fixture
def reopen(workspace: Path) -> Iterator[Callable[[], App]]:
    """Open mailbot afresh from its files, as a restarted process would."""
    opened: list[App] = []

    def _open() -> App:
        app = open_app(workspace / "mailbot.toml", FixedClock())
        opened.append(app)
        return app

    yield _open
    for app in opened:
        app.close()


def _deliver(app: App, raw: bytes) -> None:
    MaildirMailbox(app.config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)


def test_a_redelivered_copy_is_never_processed_twice(reopen: Callable[[], App]) -> None:
    """GIVEN an email processed, and mailbot restarted
    WHEN a byte-identical copy of it arrives again
    THEN no second case is made and the copy is filed beside the first."""
    first = reopen()
    raw = _email(1)
    _deliver(first, raw)
    first.runner().run_once()
    first.close()
    second = reopen()
    _deliver(second, raw)
    second.runner().run_once()
    assert len(second.casebook.cases()) == 1
    assert folder_count(second, "Processed") == 2
    assert folder_count(second, "Inbox") == 0


def test_a_crash_after_commit_before_the_move_only_moves_on_restart(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the process dies after the decision is committed but before the move
    WHEN mailbot restarts
    THEN the message is moved without being decided again."""
    app = reopen()
    _deliver(app, _email(1))

    def die(*_: object) -> str:
        raise Crash

    monkeypatch.setattr(MaildirMailbox, "mark_done", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    assert len(app.casebook.cases()) == 1
    assert folder_count(app, "Inbox") == 1
    monkeypatch.undo()
    restarted = reopen()
    restarted.runner().run_once()
    assert len(restarted.casebook.cases()) == 1
    assert folder_count(restarted, "Inbox") == 0
    assert folder_count(restarted, "Processed") == 1
    audits = [a for a in restarted.store.audit_log() if a.action == "decided"]
    assert len(audits) == 1


def test_a_crash_before_commit_leaves_the_message_to_be_processed_once(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the process dies in the middle of deciding a message
    WHEN mailbot restarts
    THEN nothing half-done was recorded, and the message is then decided exactly once."""
    from mailbot.intake import stages

    app = reopen()
    _deliver(app, _email(1))

    def die(*_: object, **__: object) -> object:
        raise Crash

    monkeypatch.setattr(stages, "decide_referral", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    assert app.casebook.cases() == []
    assert folder_count(app, "Inbox") == 1
    monkeypatch.undo()
    restarted = reopen()
    restarted.runner().run_once()
    cases = restarted.casebook.cases()
    assert [c.decision.outcome for c in cases] == [Outcome.ACCEPTED]
    assert folder_count(restarted, "Inbox") == 0


def test_a_message_that_keeps_killing_the_process_is_held(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a message that crashes the process every time it is read
    WHEN mailbot has restarted three times
    THEN the fourth start holds it as processing_error and moves on to the next message."""
    from mailbot.intake import stages

    app = reopen()
    _deliver(app, _email(1))
    real = stages.open_referral

    def die(*_: object, **__: object) -> object:
        raise Crash

    monkeypatch.setattr(stages, "open_referral", die)
    for _ in range(3):
        with pytest.raises(Crash):
            reopen().runner().run_once()
    monkeypatch.setattr(stages, "open_referral", real)
    last = reopen()
    _deliver(last, _email(2))
    last.runner().run_once()
    outcomes = sorted((c.message_id, c.decision.reasons) for c in last.casebook.cases())
    assert outcomes == [
        ("<restart-1@example.pnn.police.uk>", ("processing_error",)),
        ("<restart-2@example.pnn.police.uk>", ()),
    ]
    assert folder_count(last, "Exceptions") == 1


def test_a_crash_while_refiling_a_resolved_referral_is_finished_on_restart(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a held referral opened by a password email, and a crash while moving it
    WHEN mailbot restarts
    THEN the referral is moved from Exceptions to Processed, decided once."""
    app = reopen()
    _deliver(app, _email(1, sample("08-encrypted-unknown-password.docx"), sender=HOMES))
    app.runner().run_once()
    _deliver(app, _email(2, b"", sender=HOMES, subject="password", body="Sparrow-Lane-77"))

    def die(*_: object) -> str:
        raise Crash

    monkeypatch.setattr(MaildirMailbox, "refile", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    monkeypatch.undo()
    restarted = reopen()
    restarted.runner().run_once()
    [case] = restarted.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert folder_count(restarted, "Exceptions") == 0
    assert folder_count(restarted, "Processed") == 2


def _cli(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailbot", "--config", str(workspace / "mailbot.toml"), *args]


def test_kill_9_mid_run_then_restart_gives_every_email_one_outcome(workspace: Path) -> None:
    """GIVEN a daemon working through 12 referrals
    WHEN it is killed with SIGKILL part-way and started again
    THEN every email has exactly one case, and the inbox is empty."""
    config = open_app(workspace / "mailbot.toml", with_mailbox=False)
    inbox = MaildirMailbox(config.config.mail_dir, use_inotify=False)
    for n in range(12):
        inbox.deliver(Folder.INBOX, _email(n))
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    daemon = subprocess.Popen(_cli(workspace, "run"), env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(config.casebook.cases()) >= 3:
            break
        time.sleep(0.02)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)
    subprocess.run(
        _cli(workspace, "run", "--once"),
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    cases = config.casebook.cases()
    assert sorted(c.message_id for c in cases) == sorted(
        f"<restart-{n}@example.pnn.police.uk>" for n in range(12)
    )
    assert folder_count(config, "Inbox") == 0
    assert folder_count(config, "Processed") == 12
    config.close()


def test_sigterm_finishes_and_exits_zero(workspace: Path) -> None:
    """GIVEN the daemon running
    WHEN it receives SIGTERM
    THEN it exits with status 0."""
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    daemon = subprocess.Popen(_cli(workspace, "run"), env=env, stderr=subprocess.PIPE, text=True)
    assert daemon.stderr is not None
    for line in daemon.stderr:  # the loop is running once it says so
        if "service.started" in line:
            break
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    assert "service.stopped" in daemon.stderr.read()


def _outbox_files(app: App) -> list[bytes]:
    root = app.config.mail_dir / "Outbox"
    return [p.read_bytes() for sub in ("new", "cur") for p in sorted((root / sub).iterdir())]


def _message_ids(raws: list[bytes]) -> list[str]:
    from email import message_from_bytes, policy

    return sorted(str(message_from_bytes(r, policy=policy.default)["Message-ID"]) for r in raws)


def test_a_crash_before_sending_sends_everything_once_on_restart(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a decision committed with its messages, and a crash before any is sent
    WHEN mailbot restarts
    THEN each message is sent exactly once."""
    from mailbot.dispatch.deliver import Dispatcher

    app = reopen()
    _deliver(app, _email(1))

    def die(*_: object, **__: object) -> int:
        raise Crash

    monkeypatch.setattr(Dispatcher, "deliver_due", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    assert _outbox_files(app) == []
    monkeypatch.undo()
    restarted = reopen()
    restarted.runner().run_once()
    restarted.runner().run_once()
    rows = restarted.ctx.dispatch.outbox.messages()
    assert len(rows) >= 2
    assert {r.state for r in rows} == {"sent"}
    assert _message_ids(_outbox_files(restarted)) == sorted(r.message_id for r in rows)


def test_a_crash_after_the_server_accepted_resends_the_same_message_id(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a crash after the server accepted a message but before it was marked sent
    WHEN mailbot restarts
    THEN that one message goes again with the same Message-ID (the unavoidable window),
    and nothing else is duplicated."""
    from mailbot.dispatch.send.maildir import MaildirSender

    app = reopen()
    _deliver(app, _email(1))
    real_send = MaildirSender.send

    def send_then_die(self: MaildirSender, *args: object) -> None:
        real_send(self, *args)  # type: ignore[arg-type]
        raise Crash

    monkeypatch.setattr(MaildirSender, "send", send_then_die)
    with pytest.raises(Crash):
        app.runner().run_once()
    monkeypatch.undo()
    restarted = reopen()
    restarted.runner().run_once()
    rows = restarted.ctx.dispatch.outbox.messages()
    ids = _message_ids(_outbox_files(restarted))
    first = rows[0].message_id
    assert ids.count(first) == 2
    assert sorted(set(ids)) == sorted(r.message_id for r in rows)
    assert all(ids.count(r.message_id) == 1 for r in rows[1:])


def test_a_failed_move_after_the_decision_is_retried_not_decided_again(
    reopen: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the mailbox fails (an ordinary error) moving a message after its decision
    WHEN the daemon carries on and runs again
    THEN there is still exactly one case, and the message is filed on the next pass."""
    app = reopen()
    _deliver(app, _email(1))
    real = MaildirMailbox.mark_done
    calls = {"n": 0}

    def flaky(self: MaildirMailbox, ref: str, folder: Folder) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("the mailbox server went away")
        return real(self, ref, folder)

    monkeypatch.setattr(MaildirMailbox, "mark_done", flaky)
    with pytest.raises(OSError, match="went away"):
        app.runner().run_once()
    app.runner().run_once()
    [case] = app.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert folder_count(app, "Inbox") == 0
    assert folder_count(app, "Processed") == 1
