"""Tests for `ImapMailbox` against a real, private Dovecot (see `tests/integration/dovecot.py`).

Messages are delivered the way a mail server does it for the tests' purposes: IMAP APPEND
from a second connection, as if another client or the delivery agent put them there.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import respx

from mailbot.config import Config
from mailbot.context import Context
from mailbot.credentials import load_secrets
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.imap.auth import ImapTokens
from mailbot.ingest.imap.mailbox import ImapMailbox
from mailbot.ingest.mailbox import Mailbox, MailboxError, MessageNotFoundError, Rereadable
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.intake.process import Intake
from mailbot.logs import get_logger
from mailbot.models import DocumentLimits, Folder, Outcome
from mailbot.runner import Runner
from mailbot.store import Store
from tests.conftest import DATA, NOW, FixedClock
from tests.integration.dovecot import (
    PASSWORD,
    USER,
    Dovecot,
    running_dovecot,
    token_introspection,
)
from tests.integration.graph_mocks import CLIENT_ID, TENANT, mock_login, token

MailboxFactory = Callable[..., ImapMailbox]
WAIT = 30.0  # generous: a slow CI machine must not fail a test that is not about timing
NO_MOVE_NO_IDLE = "IMAP4rev1 SASL-IR LITERAL+ ENABLE UIDPLUS"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    state = Store(tmp_path / "state.db")
    yield state
    state.close()


@pytest.fixture
def make_mailbox(dovecot: Dovecot, store: Store) -> Iterator[MailboxFactory]:
    """A factory for mailboxes on `dovecot` sharing one state store, all closed at teardown."""
    opened: list[ImapMailbox] = []

    def make(**changes: object) -> ImapMailbox:
        mailbox = ImapMailbox(
            dovecot.settings(**changes), PASSWORD, store, ssl_context=dovecot.ssl_context()
        )
        opened.append(mailbox)
        return mailbox

    yield make
    for mailbox in opened:
        mailbox.close()


def _email(n: int) -> bytes:
    return (
        f"From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nx\r\n"
    ).encode()


def _subjects(mailbox: ImapMailbox) -> list[str]:
    return [m.raw.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for m in mailbox.fetch_new()]


def _ids(dovecot: Dovecot, folder: str) -> list[str]:
    return [message_id for message_id, _ in dovecot.messages(folder)]


def _append_later(dovecot: Dovecot, raw: bytes, delay: float = 0.5) -> threading.Thread:
    def deliver() -> None:
        time.sleep(delay)
        dovecot.append(raw)

    thread = threading.Thread(target=deliver)
    thread.start()
    return thread


def test_is_a_mailbox(make_mailbox: MailboxFactory) -> None:
    """GIVEN an ImapMailbox WHEN checked against the protocol THEN it implements Mailbox."""
    assert isinstance(make_mailbox(), Mailbox)


def test_fetches_in_arrival_order_without_marking_seen(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN three messages appended to the inbox, the first with the latest INTERNALDATE
    WHEN the mailbox fetches new mail
    THEN they come in arrival (UID) order with their INTERNALDATE, and none is marked seen."""
    base = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    for n, minutes in ((1, 30), (2, 10), (3, 20)):
        dovecot.append(_email(n), when=base + dt.timedelta(minutes=minutes))
    mailbox = make_mailbox()
    messages = list(mailbox.fetch_new())
    assert [m.raw for m in messages] == [_email(1), _email(2), _email(3)]
    assert [m.received_at for m in messages] == [
        base + dt.timedelta(minutes=m) for m in (30, 10, 20)
    ]
    assert all(m.received_at.tzinfo is not None for m in messages)
    assert len({m.ref for m in messages}) == 3
    assert all("\\Seen" not in flags for _, flags in dovecot.messages("INBOX"))


def test_a_message_is_read_again_by_its_ref_while_in_the_inbox(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN two messages fetched from the inbox (intake lets go of a large one's bytes)
    WHEN one is read again by its ref, before and after it is moved to Processed, and a ref
    that was never there is read
    THEN the same bytes come back while it is in the inbox, and MessageNotFoundError after
    it has left, or for the unknown ref; the message is still not marked seen."""
    for n in (1, 2):
        dovecot.append(_email(n))
    mailbox = make_mailbox()
    assert isinstance(mailbox, Rereadable)
    first, second = mailbox.fetch_new()
    assert mailbox.read(second.ref) == _email(2)
    assert mailbox.read(first.ref) == _email(1)
    mailbox.mark_done(first.ref, Folder.PROCESSED)
    for gone in (first.ref, "1:999999", "not-a-ref"):
        with pytest.raises(MessageNotFoundError):
            mailbox.read(gone)
    assert all("\\Seen" not in flags for _, flags in dovecot.messages("INBOX"))


def test_mark_done_moves_to_created_folders_and_deletes_nothing(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN three messages and no Processed or Exceptions folder
    WHEN one is marked done to Processed and one to Exceptions, then both again
    THEN the folders exist, each message is in exactly one folder, all three still exist,
    only the third is offered again, and repeating the moves returns the same refs."""
    for n in (1, 2, 3):
        dovecot.append(_email(n))
    mailbox = make_mailbox()
    first, second, _ = mailbox.fetch_new()
    processed = mailbox.mark_done(first.ref, Folder.PROCESSED)
    exceptions = mailbox.mark_done(second.ref, Folder.EXCEPTIONS)
    assert {"Processed", "Exceptions"} <= dovecot.folders()
    assert _ids(dovecot, "INBOX") == ["<3@example.org>"]
    assert _ids(dovecot, "Processed") == ["<1@example.org>"]
    assert _ids(dovecot, "Exceptions") == ["<2@example.org>"]
    assert _subjects(mailbox) == ["message 3"]
    assert mailbox.mark_done(first.ref, Folder.PROCESSED) == processed
    assert mailbox.mark_done(second.ref, Folder.EXCEPTIONS) == exceptions
    assert sum(len(_ids(dovecot, f)) for f in ("INBOX", "Processed", "Exceptions")) == 3


def test_refile_moves_between_folders(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN a message filed in Exceptions (a held referral)
    WHEN it is refiled to Processed with the ref mark_done returned
    THEN it is in Processed only, and refiling it again returns the same ref."""
    dovecot.append(_email(1))
    mailbox = make_mailbox()
    (message,) = mailbox.fetch_new()
    held = mailbox.mark_done(message.ref, Folder.EXCEPTIONS)
    done = mailbox.refile(held, Folder.EXCEPTIONS, Folder.PROCESSED)
    assert _ids(dovecot, "Exceptions") == []
    assert _ids(dovecot, "Processed") == ["<1@example.org>"]
    assert mailbox.refile(held, Folder.EXCEPTIONS, Folder.PROCESSED) == done


def test_a_move_interrupted_by_a_crash_is_recognised_after_restart(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN a message moved to Processed by a process that then died before recording it
    WHEN a new process (same state store, empty memory) repeats that move by the old ref
    THEN it finds the message in Processed and returns its ref there."""
    dovecot.append(_email(1))
    crashed = make_mailbox()
    (message,) = crashed.fetch_new()
    moved = crashed.mark_done(message.ref, Folder.EXCEPTIONS)
    crashed.close()
    assert make_mailbox().mark_done(message.ref, Folder.EXCEPTIONS) == moved
    assert _ids(dovecot, "Exceptions") == ["<1@example.org>"]


def test_without_move_copies_then_expunges_only_that_message(tmp_path: Path) -> None:
    """GIVEN a server without MOVE (COPY and UIDPLUS only), and another client's message
    flagged \\Deleted but not expunged
    WHEN a message is marked done, twice
    THEN it is copied to Processed once and removed from the inbox, and the other client's
    message is still there (UID EXPUNGE touched nothing else)."""
    with running_dovecot(capabilities=NO_MOVE_NO_IDLE) as dovecot:
        for n in (1, 2):
            dovecot.append(_email(n))
        with dovecot.client() as other:
            other.select("INBOX")
            other.uid("STORE", "2", "+FLAGS", r"(\Deleted)")
        mailbox = ImapMailbox(dovecot.settings(), PASSWORD, ssl_context=dovecot.ssl_context())
        first = next(mailbox.fetch_new())
        ref = mailbox.mark_done(first.ref, Folder.PROCESSED)
        assert mailbox.mark_done(first.ref, Folder.PROCESSED) == ref
        assert _ids(dovecot, "Processed") == ["<1@example.org>"]
        assert dovecot.messages("INBOX") == [("<2@example.org>", {"\\Deleted"})]
        mailbox.close()


def test_idle_wakes_wait_for_mail(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN a mailbox that has fetched everything and is waiting
    WHEN another connection appends a message
    THEN wait_for_mail returns True and the message can be fetched."""
    mailbox = make_mailbox()
    assert list(mailbox.fetch_new()) == []
    thread = _append_later(dovecot, _email(1))
    assert mailbox.wait_for_mail(WAIT) is True
    thread.join()
    assert _subjects(mailbox) == ["message 1"]


def test_wait_for_mail_times_out_without_mail(make_mailbox: MailboxFactory) -> None:
    """GIVEN an empty inbox already fetched WHEN waiting one second THEN it returns False."""
    mailbox = make_mailbox(idle_seconds=10)
    list(mailbox.fetch_new())
    assert mailbox.wait_for_mail(1.0) is False


def test_mail_arriving_between_fetch_and_wait_is_not_missed(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN a mailbox that fetched, then looked into another folder (re-selecting the inbox
    later), while a message arrived WHEN it waits THEN it returns True at once."""
    dovecot.append(_email(1))
    mailbox = make_mailbox()
    (message,) = mailbox.fetch_new()
    mailbox.mark_done(message.ref, Folder.PROCESSED)
    mailbox.mark_done(message.ref, Folder.PROCESSED)  # looks into Processed
    dovecot.append(_email(2))
    assert mailbox.wait_for_mail(WAIT) is True


def test_without_idle_polling_notices_new_mail() -> None:
    """GIVEN a server that does not offer IDLE WHEN a message arrives during a wait
    THEN wait_for_mail notices it by polling and returns True."""
    with running_dovecot(capabilities=NO_MOVE_NO_IDLE) as dovecot:
        mailbox = ImapMailbox(dovecot.settings(), PASSWORD, ssl_context=dovecot.ssl_context())
        list(mailbox.fetch_new())
        thread = _append_later(dovecot, _email(1))
        assert mailbox.wait_for_mail(WAIT) is True
        thread.join()
        mailbox.close()


def test_restart_catches_up(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN a mailbox that processed one message and was closed
    WHEN two messages arrive while it is closed and a new mailbox is opened
    THEN the new one fetches exactly those two, in arrival order."""
    dovecot.append(_email(1))
    before = make_mailbox()
    (message,) = before.fetch_new()
    before.mark_done(message.ref, Folder.PROCESSED)
    before.close()
    before.close()  # idempotent
    dovecot.append(_email(2))
    dovecot.append(_email(3))
    assert _subjects(make_mailbox()) == ["message 2", "message 3"]


def test_a_kicked_connection_recovers(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN a connected mailbox WHEN an administrator kicks its connection
    THEN wait_for_mail reconnects and returns True, and fetching works again."""
    dovecot.append(_email(1))
    mailbox = make_mailbox()
    assert _subjects(mailbox) == ["message 1"]
    dovecot.kick()
    assert mailbox.wait_for_mail(WAIT) is True
    assert _subjects(mailbox) == ["message 1"]


def test_a_server_restart_is_survived(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN a connected mailbox WHEN the server restarts (cutting every connection)
    THEN the next fetch and move reconnect transparently."""
    dovecot.append(_email(1))
    mailbox = make_mailbox()
    assert _subjects(mailbox) == ["message 1"]
    dovecot.restart()
    (message,) = mailbox.fetch_new()
    dovecot.restart()
    mailbox.mark_done(message.ref, Folder.PROCESSED)
    assert _ids(dovecot, "Processed") == ["<1@example.org>"]


def test_uidvalidity_change_offers_messages_again(
    dovecot: Dovecot, store: Store, make_mailbox: MailboxFactory
) -> None:
    """GIVEN two fetched messages WHEN the server renumbers the inbox (new UIDVALIDITY)
    THEN both are offered again under new refs, the new UIDVALIDITY is stored, and
    mark_done with an old ref still finds its message by Message-ID."""
    for n in (1, 2):
        dovecot.append(_email(n))
    mailbox = make_mailbox()
    old = list(mailbox.fetch_new())
    dovecot.set_uidvalidity(4242)
    new = list(mailbox.fetch_new())
    assert [m.raw for m in new] == [m.raw for m in old]
    assert all(m.ref.startswith("4242:") for m in new)
    assert {m.ref for m in new}.isdisjoint(m.ref for m in old)
    assert store.state_get("imap:127.0.0.1:referrals:INBOX:uidvalidity") == "4242"
    mailbox.mark_done(old[1].ref, Folder.PROCESSED)
    assert _ids(dovecot, "Processed") == ["<2@example.org>"]
    assert _ids(dovecot, "INBOX") == ["<1@example.org>"]


def test_starttls(dovecot: Dovecot, make_mailbox: MailboxFactory) -> None:
    """GIVEN the server's STARTTLS port WHEN the mailbox uses security = "starttls"
    THEN it upgrades the connection and fetches."""
    dovecot.append(_email(1))
    mailbox = make_mailbox(security="starttls", port=dovecot.starttls_port)
    assert _subjects(mailbox) == ["message 1"]


def test_failures_are_mailbox_errors_without_secrets(dovecot: Dovecot) -> None:
    """GIVEN a wrong password, then a stopped server
    WHEN the mailbox is used
    THEN each failure is a MailboxError whose text holds neither password."""
    wrong = "not-the-password-1234"
    mailbox = ImapMailbox(dovecot.settings(), wrong, ssl_context=dovecot.ssl_context())
    with pytest.raises(MailboxError) as refused:
        list(mailbox.fetch_new())
    assert "authentication" in str(refused.value)
    assert wrong not in str(refused.value)
    right = ImapMailbox(dovecot.settings(), PASSWORD, ssl_context=dovecot.ssl_context())
    list(right.fetch_new())
    dovecot.stop()
    with pytest.raises(MailboxError) as down:
        list(right.fetch_new())
    with pytest.raises(MailboxError):
        right.wait_for_mail(1.0)
    assert PASSWORD not in str(down.value)
    right.close()


def test_check_reports_what_it_finds(dovecot: Dovecot) -> None:
    """GIVEN a working server without Processed/Exceptions, then wrong settings
    WHEN check() runs
    THEN it reports the missing folders (and creates none), then a login failure, an
    untrusted certificate, an unresolvable host and a closed port."""

    def check(
        password: str = PASSWORD, context: ssl.SSLContext | None = None, **changes: object
    ) -> list[str]:
        mailbox = ImapMailbox(
            dovecot.settings(**changes), password, ssl_context=context or dovecot.ssl_context()
        )
        return mailbox.check()

    found = check()
    assert len(found) == 2
    assert all("will be created" in finding for finding in found)
    assert "Processed" not in dovecot.folders()
    assert check(password="wrong")[0].startswith("authentication:")
    assert check(context=ssl.create_default_context())[0].startswith("TLS:")
    assert check(host="mailbot-test.invalid")[0].startswith("DNS:")
    dovecot.stop()
    assert check()[0].startswith("network:")


def test_the_intake_pipeline_runs_on_imap(
    dovecot: Dovecot, config: Config, store: Store, workspace: Path
) -> None:
    """GIVEN the accepted sample referral emailed by West Midlands Police into the IMAP inbox
    WHEN the runner processes the inbox once
    THEN the case is accepted and the email is in Processed, nothing left in the inbox."""
    del workspace  # copied the example config and secrets (the `config` fixture reads them)
    form = (DATA / "forms" / "samples" / "01-accepted-controls.docx").read_bytes()
    raw = compose(
        sender="pc.lee.adams@west-midlands.pnn.police.uk",
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject="MARAC referral",
        attachments=[docx_attachment("MARAC referral.docx", form)],
        message_id="<imap-1@west-midlands.pnn.police.uk>",
        sent_at=NOW,
    )
    dovecot.append(raw)
    mailbox = ImapMailbox(dovecot.settings(), PASSWORD, store, ssl_context=dovecot.ssl_context())
    intake = Intake(
        Context.of(config, load_secrets(config, environ={}), store, FixedClock(), get_logger()),
        mailbox,
    )
    try:
        assert Runner(intake, mailbox, get_logger()).run_once() == 1
    finally:
        mailbox.close()
    (case,) = intake.ctx.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert _ids(dovecot, "Processed") == ["<imap-1@west-midlands.pnn.police.uk>"]
    assert _ids(dovecot, "INBOX") == []


class _Crash(BaseException):
    """The process dying: not an Exception, so nothing in mailbot catches it."""


def test_a_move_whose_record_a_kill_lost_is_found_and_refiled_after_restart(
    dovecot: Dovecot, config: Config, store: Store, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a referral held for its password, moved to Exceptions on the IMAP server by a
    process killed before it recorded the move
    WHEN a new process starts and the password email arrives
    THEN the case is accepted and the referral is moved from Exceptions to Processed."""
    del workspace
    homes = "tenancy@wolverhamptonhomes.org.uk"
    locked = (DATA / "forms" / "encrypted" / "08-encrypted-unknown-password.docx").read_bytes()
    dovecot.append(
        compose(
            sender=homes,
            to="marac_referrals@west-midlands.pnn.police.uk",
            subject="MARAC referral",
            attachments=[docx_attachment("r.docx", locked)],
            message_id="<locked-1@wolverhamptonhomes.org.uk>",
            sent_at=NOW,
        )
    )

    def intake_on(mailbox: ImapMailbox) -> Intake:
        return Intake(
            Context.of(config, load_secrets(config, environ={}), store, FixedClock(), get_logger()),
            mailbox,
        )

    def die(*_: object) -> None:
        raise _Crash

    first = ImapMailbox(dovecot.settings(), PASSWORD, store, ssl_context=dovecot.ssl_context())
    monkeypatch.setattr(Store, "ledger_moved", die)
    with pytest.raises(_Crash):
        Runner(intake_on(first), first, get_logger()).run_once()
    monkeypatch.undo()
    first.close()
    assert _ids(dovecot, "Exceptions") == ["<locked-1@wolverhamptonhomes.org.uk>"]
    dovecot.append(
        compose(
            sender=homes,
            to="marac_referrals@west-midlands.pnn.police.uk",
            subject="password",
            body="Sparrow-Lane-77",
            message_id="<pw-1@wolverhamptonhomes.org.uk>",
            sent_at=NOW,
        )
    )
    second = ImapMailbox(dovecot.settings(), PASSWORD, store, ssl_context=dovecot.ssl_context())
    intake = intake_on(second)
    try:
        Runner(intake, second, get_logger()).run_once()
    finally:
        second.close()
    (case,) = intake.ctx.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert _ids(dovecot, "Exceptions") == []
    assert sorted(_ids(dovecot, "Processed")) == [
        "<locked-1@wolverhamptonhomes.org.uk>",
        "<pw-1@wolverhamptonhomes.org.uk>",
    ]


# -- size before download, XOAUTH2 ------------------------------------------------------------


def test_a_message_over_the_limit_is_not_downloaded(
    dovecot: Dovecot, make_mailbox: MailboxFactory
) -> None:
    """GIVEN a 3 MB message and a 1 MB email limit, beside a small message
    WHEN the mailbox fetches new mail, and reads the large one again by its ref
    THEN the large one is a stand-in of its header section (its own Message-ID, a body that
    parses as past the limit) and the server sent well under its size; the small one is
    whole; the ref still files the real message."""
    limit = 1024 * 1024
    big = _email(1).replace(b"\r\n\r\nx", b"\r\n\r\n" + b"A" * 76 * 40_000 + b"x")
    dovecot.append(big)
    dovecot.append(_email(2))
    mailbox = ImapMailbox(
        dovecot.settings(), PASSWORD, ssl_context=dovecot.ssl_context(), max_bytes=limit
    )
    large, small = mailbox.fetch_new()
    assert small.raw == _email(2)
    assert large.size < 16 * 1024
    assert mailbox.read(large.ref) == large.raw
    parsed = parse_email(large.raw, DocumentLimits(max_email_bytes=limit))
    assert parsed.message_id == "<1@example.org>"
    assert [is_oversized(a) for a in parsed.attachments] == [True]
    mailbox.mark_done(large.ref, Folder.EXCEPTIONS)
    mailbox.close()
    assert _ids(dovecot, "Exceptions") == ["<1@example.org>"]
    sent = [int(n) for n in re.findall(r"imap\(referrals\).* out=(\d+)", dovecot.log())]
    assert sent
    assert max(sent) < limit


def test_an_oversized_referral_is_decided_without_being_downloaded(
    dovecot: Dovecot, config: Config, store: Store, workspace: Path
) -> None:
    """GIVEN a 3 MB referral email in the IMAP inbox and a 1 MB email limit
    WHEN the runner processes the inbox
    THEN it is decided as any oversize email is (returned, unreadable_document) from its
    headers alone, and the original is filed in the mailbox, not left in the inbox."""
    del workspace
    limit = 1024 * 1024
    small = config.model_copy(
        update={"limits": config.limits.model_copy(update={"max_email_bytes": limit})}
    )
    dovecot.append(
        compose(
            sender="pc.lee.adams@west-midlands.pnn.police.uk",
            to="marac_referrals@west-midlands.pnn.police.uk",
            subject="MARAC referral",
            message_id="<big-2@wmp.example>",
            attachments=[docx_attachment("referral.docx", bytes(3 * limit))],
            sent_at=NOW,
        )
    )
    mailbox = ImapMailbox(
        dovecot.settings(), PASSWORD, store, ssl_context=dovecot.ssl_context(), max_bytes=limit
    )
    intake = Intake(
        Context.of(small, load_secrets(small, environ={}), store, FixedClock(), get_logger()),
        mailbox,
    )
    try:
        assert Runner(intake, mailbox, get_logger()).run_once() == 1
    finally:
        mailbox.close()
    (case,) = intake.ctx.casebook.cases()
    assert case.decision.outcome is Outcome.RETURNED
    assert "unreadable_document" in case.decision.reasons
    assert _ids(dovecot, "INBOX") == []
    assert "<big-2@wmp.example>" in _ids(dovecot, "Processed") + _ids(dovecot, "Exceptions")
    sent = [int(n) for n in re.findall(r"imap\(referrals\).* out=(\d+)", dovecot.log())]
    assert max(sent) < limit


@pytest.fixture
def entra() -> Iterator[respx.MockRouter]:
    """Entra's token endpoint (MSAL's only network traffic here), answering token.json."""
    with respx.mock(assert_all_called=False) as router:
        mock_login(router)
        yield router


def _oauth2_mailbox(dovecot: Dovecot, store: Store | None = None) -> ImapMailbox:
    settings = dovecot.settings(auth="oauth2", tenant_id=TENANT, client_id=CLIENT_ID)
    tokens = ImapTokens(settings, {"imap_client_secret": "client-secret-value"})
    return ImapMailbox(settings, tokens, store, ssl_context=dovecot.ssl_context())


def test_xoauth2_signs_in_with_the_app_s_token(entra: respx.MockRouter) -> None:
    """GIVEN a server accepting XOAUTH2 (Dovecot's oauth2 passdb asking an introspection
    endpoint) and Entra issuing the app a token (client credentials, through MSAL)
    WHEN a mailbox with auth = "oauth2" fetches and files mail
    THEN it signs in with XOAUTH2 using exactly that token, for the scope of Exchange
    Online's IMAP, and works as with a password, also when used again after close()."""
    with (
        token_introspection({token(): USER}) as introspection,
        running_dovecot(introspection_url=introspection.url) as dovecot,
    ):
        dovecot.append(_email(1))
        mailbox = _oauth2_mailbox(dovecot)
        (message,) = mailbox.fetch_new()
        mailbox.mark_done(message.ref, Folder.PROCESSED)
        [finding] = mailbox.check()  # check() signs in afresh, with XOAUTH2 too
        assert "'Exceptions' does not exist" in finding
        mailbox.close()
        assert list(mailbox.fetch_new()) == []  # closed, then used again: signs in anew
        mailbox.close()
        assert introspection.asked
        assert set(introspection.asked) == {token()}
        assert "method=XOAUTH2" in dovecot.log()
        assert _ids(dovecot, "Processed") == ["<1@example.org>"]
    [request] = [c.request for c in entra.calls if c.request.url.path.endswith("/token")][:1]
    form = request.content.decode()
    assert "grant_type=client_credentials" in form
    assert "outlook.office365.com%2F.default" in form


def test_a_refused_xoauth2_token_is_an_authentication_failure_in_one_line(
    entra: respx.MockRouter,
) -> None:
    """GIVEN a server whose identity provider does not know the app's token
    WHEN the mailbox is used, and checked
    THEN it fails as an authentication failure, and check() says in one line that the
    XOAUTH2 login was refused and what Exchange Online needs; no token appears in either."""
    del entra
    with (
        token_introspection({}) as introspection,
        running_dovecot(introspection_url=introspection.url) as dovecot,
    ):
        mailbox = _oauth2_mailbox(dovecot)
        with pytest.raises(MailboxError, match="authentication failed") as refused:
            list(mailbox.fetch_new())
        [finding] = mailbox.check()
        mailbox.close()
    assert finding.startswith("authentication:")
    assert "XOAUTH2" in finding
    assert "\n" not in finding
    assert token() not in str(refused.value) + finding
