"""Opening ahead in worker processes (`mailbot.intake.prefetch`): the values it hands the caller.

Real worker processes, real encrypted emails (at a low spin count, so the tests are quick);
what a worker returns must be exactly what opening in-process returns, and anything that goes
wrong in a worker must come back as "open it yourself", never as a decision.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from concurrent.futures import Future, wait
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.codes import Reason
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.mime.parse import parse_email
from mailbot.intake import stages
from mailbot.intake.prefetch import Lookahead, Opened, Prepared
from mailbot.models import DocumentLimits, MailboxMessage, ParsedEmail
from tests.conftest import NOW, TODAY

LIMITS = DocumentLimits()
PASSWORD = "BCT-Marac-7731"
SENDER = "s.worker@birminghamchildrenstrust.co.uk"


def _message(n: int, subject: str = "MARAC referral") -> MailboxMessage:
    form = sample_form(random.Random(n), referral_date=TODAY, referrer_email=SENDER)
    document = encrypt_docx(render_form(form), PASSWORD, spin_count=1000)
    raw = compose(
        sender=SENDER,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject=subject,
        attachments=[docx_attachment("r.docx", document)],
        message_id=f"<prefetch-{n}@birminghamchildrenstrust.co.uk>",
        sent_at=NOW,
    )
    return MailboxMessage(ref=str(n), raw=raw, received_at=datetime(2026, 11, 2, tzinfo=UTC))


def _passwords(_: ParsedEmail) -> list[str]:
    return ["Not-This-One", PASSWORD]


def die_on_poison(
    email: ParsedEmail, passwords: Sequence[str], limits: DocumentLimits
) -> stages.OpenedForm | stages.Unopened:
    """An opener that kills its worker process on one email, as a crashing decoder would."""
    if "poison" in email.subject:
        os._exit(3)
    return stages.open_referral(email, passwords, limits)


def recording_opener(
    email: ParsedEmail, passwords: Sequence[str], limits: DocumentLimits
) -> stages.OpenedForm | stages.Unopened:
    """An opener that notes (in the file named by $MAILBOT_TEST_OPENED) what it opened."""
    with open(os.environ["MAILBOT_TEST_OPENED"], "a") as opened:
        opened.write(email.message_id + "\n")
    return stages.open_referral(email, passwords, limits)


def _drain(
    ahead: Lookahead, *, slow_caller: bool = True
) -> list[tuple[str, stages.OpenedForm | stages.Unopened | None]]:
    """Take everything; a slow caller waits for each worker to finish before asking (so
    what it gets is the workers' work), a fast one asks at once."""
    seen = []
    with ahead:
        for message, prepared in ahead:
            if prepared is not None and prepared.future is not None and slow_caller:
                wait([prepared.future])
            seen.append(
                (
                    message.ref,
                    prepared.opened(_passwords(prepared.email), LIMITS) if prepared else None,
                )
            )
    return seen


def test_a_backlog_is_opened_by_workers_with_the_same_result_as_in_process() -> None:
    """GIVEN five encrypted referrals waiting and two workers
    WHEN they are taken from the look-ahead in order
    THEN they come in arrival order, each opened by a worker exactly as in-process."""
    messages = [_message(n) for n in range(5)]
    ahead = Lookahead(iter(messages), passwords_for=_passwords, limits=lambda: LIMITS, workers=2)
    seen = _drain(ahead)
    assert [ref for ref, _ in seen] == ["0", "1", "2", "3", "4"]
    expected = [
        stages.open_referral(parse_email(m.raw, LIMITS), ["Not-This-One", PASSWORD], LIMITS)
        for m in messages
    ]
    assert [opened for _, opened in seen] == expected
    assert ahead.pools_started == 1


def test_a_single_message_is_left_to_the_caller() -> None:
    """GIVEN one message in the inbox (no backlog)
    WHEN it is taken from the look-ahead
    THEN no worker is started and the caller opens it itself."""
    ahead = Lookahead(
        iter([_message(1)]), passwords_for=_passwords, limits=lambda: LIMITS, workers=2
    )
    assert _drain(ahead) == [("1", None)]
    assert ahead.pools_started == 0


def test_one_worker_means_no_look_ahead() -> None:
    """GIVEN service.workers = 1
    WHEN a backlog is taken from the look-ahead
    THEN nothing is prepared: every message is parsed and opened by the caller, as before."""
    messages = [_message(n) for n in range(3)]
    ahead = Lookahead(iter(messages), passwords_for=_passwords, limits=lambda: LIMITS, workers=1)
    with ahead:
        assert [(m.ref, p) for m, p in ahead] == [("0", None), ("1", None), ("2", None)]
    assert ahead.pools_started == 0


def test_a_document_that_kills_its_worker_is_left_to_the_caller_and_the_rest_go_on() -> None:
    """GIVEN ten referrals, the second of which kills the worker process opening it
    WHEN they are taken from the look-ahead
    THEN that one (and any lost with the pool) is left to the caller to open, in-process,
    where the usual poison handling applies; a new pool opens the ones after it."""
    messages = [_message(n, "poison" if n == 1 else "MARAC referral") for n in range(10)]
    ahead = Lookahead(
        iter(messages),
        passwords_for=_passwords,
        limits=lambda: LIMITS,
        workers=2,
        opener=die_on_poison,
    )
    seen = _drain(ahead)
    assert [ref for ref, _ in seen] == [str(n) for n in range(10)]
    assert dict(seen)["1"] is None
    assert isinstance(dict(seen)["9"], stages.OpenedForm)
    assert ahead.pools_started == 2


def test_what_no_worker_has_begun_is_taken_by_the_caller_and_opened_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN eight referrals waiting, two workers just starting (a new interpreter each, much
    slower than the caller), and a caller that asks for each at once
    WHEN they are taken from the look-ahead
    THEN the caller is told to open the first itself rather than wait for a worker to
    start, and every message is opened exactly once: by the caller or by a worker, never
    both (a worker skips what the caller has claimed)."""
    record = tmp_path / "opened-by-workers"
    record.touch()
    monkeypatch.setenv("MAILBOT_TEST_OPENED", str(record))
    messages = [_message(n) for n in range(8)]
    ahead = Lookahead(
        iter(messages),
        passwords_for=_passwords,
        limits=lambda: LIMITS,
        workers=2,
        opener=recording_opener,
    )
    seen = _drain(ahead, slow_caller=False)  # leaving it waits for the workers to stop
    by_caller = {
        f"<prefetch-{ref}@birminghamchildrenstrust.co.uk>" for ref, opened in seen if opened is None
    }
    by_workers = record.read_text().split()
    assert "<prefetch-0@birminghamchildrenstrust.co.uk>" in by_caller
    assert len(by_workers) == len(set(by_workers))
    assert not by_caller & set(by_workers)
    assert by_caller | set(by_workers) == {
        m for m in (parse_email(x.raw, LIMITS).message_id for x in messages)
    }
    assert {ref for ref, opened in seen if opened is not None} == {
        m.ref
        for m in messages
        if f"<prefetch-{m.ref}@birminghamchildrenstrust.co.uk>" in by_workers
    }


def _done(value: Opened) -> Future[Opened | None]:
    future: Future[Opened | None] = Future()
    future.set_result(value)
    return future


@pytest.mark.parametrize(
    ("passwords", "limits"),
    [
        (("Another-Password",), LIMITS),
        (("Not-This-One", PASSWORD), DocumentLimits(max_spin_count=100)),
    ],
)
def test_a_result_opened_before_a_reload_is_not_used(
    passwords: tuple[str, ...], limits: DocumentLimits
) -> None:
    """GIVEN a referral opened ahead with the agency's passwords and limits of the time
    WHEN a reload has changed them by the time it is decided
    THEN the worker's result is not used (the caller opens it with the new ones)."""
    email = parse_email(_message(1).raw, LIMITS)
    prepared = Prepared(
        email,
        LIMITS,
        ("Not-This-One", PASSWORD),
        _done(stages.Unopened(code=Reason.CANNOT_DECRYPT)),
    )
    assert prepared.opened(passwords, limits) is None


def test_an_error_in_the_worker_is_left_to_the_caller() -> None:
    """GIVEN a worker whose opening raised
    WHEN the result is asked for
    THEN None: the caller opens it in-process, where the same error meets the poison
    handling (a processing_error hold), never a decision made from a failure."""
    future: Future[Opened | None] = Future()
    future.set_exception(RecursionError())
    prepared = Prepared(parse_email(_message(1).raw, LIMITS), LIMITS, (PASSWORD,), future)
    assert prepared.opened((PASSWORD,), LIMITS) is None
