"""One folder that cannot be written holds back only the emails bound for it.

Exceptions/cur is made immutable (`chattr +i`: no process may add a file to it, root
included), as a changed permission or a bad mount would. Emails held for a person (bound for
Exceptions) are decided once and wait in the Inbox, named by `status`; the good referrals
around them are decided and filed as usual. Once the folder takes writes again, the waiting
ones move, and nothing was decided twice.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.ingest.maildir import FolderUnwritable
from mailbot.models import Folder, Outcome
from mailbot.service.health import check_health
from tests.conftest import TODAY
from tests.integration.conftest import Send, folder_count

POLICE = "pc.adams@west-midlands.pnn.police.uk"
PASSES = 3


@pytest.fixture
def immutable_exceptions(app: App) -> Iterator[Path]:
    """Exceptions/cur made immutable for the test, or a skip saying why it cannot be."""
    cur = app.config.mail_dir / "Exceptions" / "cur"
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a folder unwritable for root")
    result = subprocess.run(["chattr", "+i", str(cur)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"this file system has no immutable attribute: {result.stderr.strip()}")
    try:
        yield cur
    finally:
        subprocess.run(["chattr", "-i", str(cur)], check=False)


def _referral(n: int) -> bytes:
    return render_form(sample_form(random.Random(n), referral_date=TODAY))


def _held(send: Send, n: int) -> str:
    """An email with two forms: held (multiple_forms), bound for Exceptions."""
    return send(POLICE, _referral(n), extra=[docx_attachment("second.docx", _referral(n + 50))])


def test_an_unwritable_exceptions_folder_holds_back_only_its_emails(
    app: App, send: Send, immutable_exceptions: Path
) -> None:
    """GIVEN Exceptions/cur immutable, and in the Inbox two held emails between good referrals
    WHEN the daemon passes several times
    THEN every email is decided exactly once, the good referrals are in Processed, the held
    ones wait in the Inbox (their move retried, not their decision), status names the
    Exceptions folder and the two emails; once the folder is writable again they move there
    and status clears."""
    good = [send(POLICE, _referral(1))]
    held = [_held(send, 2)]
    good.append(send(POLICE, _referral(3)))
    held.append(_held(send, 4))
    good.append(send(POLICE, _referral(5)))
    runner = app.runner()
    for _ in range(PASSES):
        runner.run_once()
    cases = {c.message_id: c for c in app.casebook.cases()}
    assert sorted(cases) == sorted(good + held)
    assert {cases[m].decision.outcome for m in held} == {Outcome.HELD}
    assert all(cases[m].decision.outcome is not Outcome.HELD for m in good)
    assert folder_count(app, "Processed") == len(good)
    assert folder_count(app, "Inbox") == len(held)
    assert folder_count(app, "Exceptions") == 0
    health = check_health(app.config, app.store, app.ctx.clock.now())
    assert health.folder_errors == {
        "Exceptions": {"error": "Operation not permitted", "waiting": 2}
    }
    assert any(
        "the Exceptions folder cannot be written" in p and "2 email(s) wait" in p
        for p in health.problems
    )
    subprocess.run(["chattr", "-i", str(immutable_exceptions)], check=True)
    runner.run_once()
    assert folder_count(app, "Exceptions") == len(held)
    assert folder_count(app, "Inbox") == 0
    assert len(app.casebook.cases()) == len(good + held)
    health = check_health(app.config, app.store, app.ctx.clock.now())
    assert health.folder_errors == {}
    assert not any("folder cannot be written" in p for p in health.problems)


def test_a_refused_move_does_not_hold_back_the_later_ones(
    app: App, send: Send, immutable_exceptions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a held email whose move to Exceptions is refused, and after it a good referral
    decided and committed whose move to Processed a crash interrupted
    WHEN the moves are reconciled
    THEN the good referral is filed all the same, and the refusal is reported after it."""
    waiting = _held(send, 8)
    runner = app.runner()
    runner.run_once()  # decided; its move refused, so it waits in the Inbox
    good = send(POLICE, _referral(9))
    mark_done = app.mailbox.mark_done

    def crash_once(ref: str, folder: Folder) -> str:
        if folder is not Folder.PROCESSED:
            return mark_done(ref, folder)
        monkeypatch.setattr(app.mailbox, "mark_done", mark_done)
        raise OSError("the process died here")

    monkeypatch.setattr(app.mailbox, "mark_done", crash_once)
    with pytest.raises(OSError, match="died"):
        runner.run_once()
    assert folder_count(app, "Inbox") == 2
    with pytest.raises(FolderUnwritable):
        app.intake.reconcile()
    assert folder_count(app, "Processed") == 1
    assert folder_count(app, "Inbox") == 1
    assert {c.message_id for c in app.casebook.cases()} == {waiting, good}
