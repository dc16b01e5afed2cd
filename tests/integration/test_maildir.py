"""Tests for `MaildirMailbox` on real Maildirs in a temporary directory."""

from __future__ import annotations

import gc
import os
import stat
import threading
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from mailbot.ingest.mailbox import Mailbox, MessageNotFoundError, Rereadable
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder

MailboxFactory = Callable[..., MaildirMailbox]


@pytest.fixture
def make_mailbox(tmp_path: Path) -> Iterator[MailboxFactory]:
    """A factory for mailboxes under tmp_path/mail, all closed at teardown."""
    opened: list[MaildirMailbox] = []

    def make(*, use_inotify: bool = True) -> MaildirMailbox:
        mailbox = MaildirMailbox(tmp_path / "mail", use_inotify=use_inotify)
        opened.append(mailbox)
        return mailbox

    yield make
    for mailbox in opened:
        mailbox.close()


def _email(n: int) -> bytes:
    return (
        f"From: a@example.org\nSubject: message {n}\nMessage-ID: <{n}@example.org>\n\nx\n".encode()
    )


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _deliver_later(mailbox: MaildirMailbox, delay: float) -> threading.Thread:
    def deliver() -> None:
        time.sleep(delay)
        mailbox.deliver(Folder.INBOX, _email(99))

    thread = threading.Thread(target=deliver)
    thread.start()
    return thread


def test_is_a_mailbox(make_mailbox: MailboxFactory) -> None:
    """GIVEN a MaildirMailbox WHEN checked against the protocol THEN it implements Mailbox."""
    assert isinstance(make_mailbox(), Mailbox)


def test_creates_private_maildirs(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN no mail directory WHEN a mailbox opens THEN each folder has cur/new/tmp, mode 0700."""
    make_mailbox()

    root = tmp_path / "mail"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for folder in ("Inbox", "Processed", "Exceptions", "Outbox"):
        for sub in ("", "cur", "new", "tmp"):
            assert stat.S_IMODE((root / folder / sub).stat().st_mode) == 0o700, (folder, sub)


def test_delivered_file_is_private(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a mailbox WHEN a message is delivered THEN it sits in Inbox/new with mode 0600."""
    ref = make_mailbox().deliver(Folder.INBOX, _email(1))

    path = tmp_path / "mail" / "Inbox" / "new" / ref
    assert path.read_bytes() == _email(1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list((tmp_path / "mail" / "Inbox" / "tmp").iterdir()) == []


def test_fetch_new_in_arrival_order(make_mailbox: MailboxFactory) -> None:
    """GIVEN three messages delivered in turn WHEN fetched THEN they come oldest first."""
    mailbox = make_mailbox()
    refs = [mailbox.deliver(Folder.INBOX, _email(n)) for n in range(3)]

    fetched = list(mailbox.fetch_new())

    assert [m.ref for m in fetched] == refs
    assert [m.raw for m in fetched] == [_email(n) for n in range(3)]
    assert all(m.received_at.tzinfo is UTC for m in fetched)


def test_fetch_new_lets_go_of_a_message_before_reading_the_next(
    make_mailbox: MailboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN two messages waiting (think of two 34 MB referrals with photos)
    WHEN the first is fetched and let go of, and the second is read
    THEN while the second is being read, nothing in fetch_new still holds the first's bytes
    (memory holds one large email at a time)."""
    mailbox = make_mailbox()
    for n in range(2):
        mailbox.deliver(Folder.INBOX, _email(n))
    messages = mailbox.fetch_new()
    first = next(messages).raw
    holders: list[str] = []
    real_read = mailbox._read

    def read(path: Path, key: str) -> bytes | None:
        holders.extend(
            r.gi_code.co_name for r in gc.get_referrers(first) if isinstance(r, types.GeneratorType)
        )
        return real_read(path, key)

    monkeypatch.setattr(mailbox, "_read", read)
    second = next(messages)
    assert second.raw == _email(1)
    assert "fetch_new" not in holders
    assert gc.get_referrers(first)  # the check sees holders: the test itself holds it


def test_a_message_is_read_again_by_its_ref_while_in_the_inbox(
    make_mailbox: MailboxFactory,
) -> None:
    """GIVEN two messages in the inbox (intake lets go of a large one's bytes)
    WHEN one is read again by its ref, before and after it is moved to Processed, and a
    path-like ref is read
    THEN the same bytes come back while it is in the inbox, and MessageNotFoundError after
    it has left, or for a ref that is not a bare name."""
    mailbox = make_mailbox()
    assert isinstance(mailbox, Rereadable)
    refs = [mailbox.deliver(Folder.INBOX, _email(n)) for n in range(2)]
    assert [mailbox.read(ref) for ref in reversed(refs)] == [_email(1), _email(0)]
    mailbox.mark_done(refs[0], Folder.PROCESSED)
    for gone in (refs[0], "../Processed/" + refs[0]):
        with pytest.raises(MessageNotFoundError):
            mailbox.read(gone)


def test_fetch_new_orders_by_delivery_time_not_name(
    make_mailbox: MailboxFactory, tmp_path: Path
) -> None:
    """GIVEN a later-named file with an older mtime WHEN fetched THEN the older one is first."""
    mailbox = make_mailbox()
    first, second = (mailbox.deliver(Folder.INBOX, _email(n)) for n in range(2))
    new_dir = tmp_path / "mail" / "Inbox" / "new"
    os.utime(new_dir / second, (1_700_000_000, 1_700_000_000))

    fetched = list(mailbox.fetch_new())

    assert [m.ref for m in fetched] == [second, first]
    assert fetched[0].received_at.timestamp() == 1_700_000_000


def test_fetch_new_includes_cur(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a mail client moved a message to Inbox/cur WHEN fetched THEN it is still picked up."""
    mailbox = make_mailbox()
    ref = mailbox.deliver(Folder.INBOX, _email(1))
    inbox = tmp_path / "mail" / "Inbox"
    os.rename(inbox / "new" / ref, inbox / "cur" / f"{ref}:2,S")

    fetched = list(mailbox.fetch_new())

    assert [(m.ref, m.raw) for m in fetched] == [(ref, _email(1))]


def test_fetch_new_skips_dotfiles_and_other_folders(
    make_mailbox: MailboxFactory, tmp_path: Path
) -> None:
    """GIVEN mail in Processed and a dotfile in Inbox WHEN fetched THEN neither is returned."""
    mailbox = make_mailbox()
    mailbox.deliver(Folder.PROCESSED, _email(1))
    (tmp_path / "mail" / "Inbox" / "new" / ".hidden").write_bytes(b"x")

    assert list(mailbox.fetch_new()) == []


def test_fetch_new_skips_a_message_that_vanishes(
    make_mailbox: MailboxFactory, tmp_path: Path
) -> None:
    """GIVEN two messages WHEN the second vanishes while the first is handled THEN it is skipped."""
    mailbox = make_mailbox()
    first, second = (mailbox.deliver(Folder.INBOX, _email(n)) for n in range(2))
    messages = mailbox.fetch_new()

    assert next(messages).ref == first
    os.rename(tmp_path / "mail" / "Inbox" / "new" / second, tmp_path / "elsewhere")
    assert list(messages) == []


def test_mark_done_moves_and_never_deletes(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN two inbox messages WHEN each is marked done THEN both move to cur/ with :2,S."""
    mailbox = make_mailbox()
    one, two = (mailbox.deliver(Folder.INBOX, _email(n)) for n in range(2))

    assert mailbox.mark_done(one, Folder.PROCESSED) == one
    assert mailbox.mark_done(two, Folder.EXCEPTIONS) == two

    assert _files(tmp_path / "mail") == [f"Exceptions/cur/{two}:2,S", f"Processed/cur/{one}:2,S"]
    assert (tmp_path / "mail" / "Processed" / "cur" / f"{one}:2,S").read_bytes() == _email(0)
    assert list(mailbox.fetch_new()) == []


def test_mark_done_keeps_existing_flags(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a message a client flagged :2,FR WHEN marked done THEN its flags become FRS."""
    mailbox = make_mailbox()
    ref = mailbox.deliver(Folder.INBOX, _email(1))
    inbox = tmp_path / "mail" / "Inbox"
    os.rename(inbox / "new" / ref, inbox / "cur" / f"{ref}:2,RF")

    mailbox.mark_done(ref, Folder.PROCESSED)

    assert _files(tmp_path / "mail") == [f"Processed/cur/{ref}:2,FRS"]


def test_mark_done_is_idempotent(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a message already moved (crash before bookkeeping) WHEN moved again THEN a no-op."""
    mailbox = make_mailbox()
    ref = mailbox.deliver(Folder.INBOX, _email(1))
    mailbox.mark_done(ref, Folder.PROCESSED)

    assert mailbox.mark_done(ref, Folder.PROCESSED) == ref
    assert _files(tmp_path / "mail") == [f"Processed/cur/{ref}:2,S"]


def test_mark_done_unknown_ref_raises(make_mailbox: MailboxFactory) -> None:
    """GIVEN a ref in no folder WHEN marked done THEN MessageNotFoundError names the ref."""
    with pytest.raises(MessageNotFoundError, match="nope"):
        make_mailbox().mark_done("nope", Folder.PROCESSED)


def test_mark_done_refuses_path_refs(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a ref that is a path WHEN marked done THEN nothing outside the Maildir is moved."""
    outside = tmp_path / "secret"
    outside.write_bytes(b"x")
    mailbox = make_mailbox()

    with pytest.raises(MessageNotFoundError):
        mailbox.mark_done("../../secret", Folder.PROCESSED)
    assert outside.read_bytes() == b"x"


def test_mark_done_only_to_done_folders(make_mailbox: MailboxFactory) -> None:
    """GIVEN an inbox message WHEN marked done into Outbox THEN refused, message left alone."""
    mailbox = make_mailbox()
    ref = mailbox.deliver(Folder.INBOX, _email(1))

    with pytest.raises(ValueError, match="Outbox"):
        mailbox.mark_done(ref, Folder.OUTBOX)
    assert [m.ref for m in mailbox.fetch_new()] == [ref]


def test_refile_exceptions_to_processed(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN a held message in Exceptions WHEN refiled THEN it is in Processed, same content."""
    mailbox = make_mailbox()
    ref = mailbox.mark_done(mailbox.deliver(Folder.INBOX, _email(1)), Folder.EXCEPTIONS)

    new_ref = mailbox.refile(ref, Folder.EXCEPTIONS, Folder.PROCESSED)

    assert new_ref == ref
    assert _files(tmp_path / "mail") == [f"Processed/cur/{ref}:2,S"]
    assert mailbox.refile(ref, Folder.EXCEPTIONS, Folder.PROCESSED) == ref  # idempotent


def test_refile_never_overwrites(make_mailbox: MailboxFactory, tmp_path: Path) -> None:
    """GIVEN the same name in source and target WHEN refiled THEN both files survive."""
    mailbox = make_mailbox()
    ref = mailbox.deliver(Folder.INBOX, _email(1))
    (tmp_path / "mail" / "Processed" / "cur" / f"{ref}:2,S").write_bytes(b"older copy")

    new_ref = mailbox.mark_done(ref, Folder.PROCESSED)

    assert new_ref != ref
    contents = sorted(p.read_bytes() for p in (tmp_path / "mail" / "Processed" / "cur").iterdir())
    assert contents == sorted([b"older copy", _email(1)])


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_wait_for_mail_wakes_on_delivery(make_mailbox: MailboxFactory, use_inotify: bool) -> None:
    """GIVEN a waiting mailbox WHEN another thread delivers THEN the wait returns True early."""
    mailbox = make_mailbox(use_inotify=use_inotify)
    if use_inotify and not mailbox.uses_inotify:
        pytest.skip("inotify is not available here")
    thread = _deliver_later(make_mailbox(use_inotify=False), delay=0.3)

    started = time.monotonic()
    woke = mailbox.wait_for_mail(timeout=10)
    elapsed = time.monotonic() - started
    thread.join()

    assert woke is True
    assert elapsed < 10
    assert len(list(mailbox.fetch_new())) == 1


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_wait_for_mail_times_out(make_mailbox: MailboxFactory, use_inotify: bool) -> None:
    """GIVEN no new mail WHEN waiting briefly THEN the wait returns False."""
    assert make_mailbox(use_inotify=use_inotify).wait_for_mail(timeout=0.2) is False


def test_mail_arriving_between_waits_is_not_missed(make_mailbox: MailboxFactory) -> None:
    """GIVEN mail delivered while nobody waits WHEN the next wait starts THEN it returns True."""
    mailbox = make_mailbox()
    make_mailbox(use_inotify=False).deliver(Folder.INBOX, _email(1))

    assert mailbox.wait_for_mail(timeout=5) is True


def test_moving_mail_out_does_not_wake_polling(make_mailbox: MailboxFactory) -> None:
    """GIVEN polling and a processed message WHEN waiting THEN its removal is not new mail."""
    mailbox = make_mailbox(use_inotify=False)
    ref = mailbox.deliver(Folder.INBOX, _email(1))
    assert mailbox.wait_for_mail(timeout=0) is True
    mailbox.mark_done(ref, Folder.PROCESSED)

    assert mailbox.wait_for_mail(timeout=0.6) is False


def test_close_is_idempotent_and_waits_still_work(make_mailbox: MailboxFactory) -> None:
    """GIVEN a mailbox WHEN closed twice THEN no error, inotify released, waits fall back."""
    mailbox = make_mailbox()

    mailbox.close()
    mailbox.close()

    assert mailbox.uses_inotify is False
    thread = _deliver_later(make_mailbox(use_inotify=False), delay=0.2)
    assert mailbox.wait_for_mail(timeout=10) is True
    thread.join()


def test_context_manager_closes(tmp_path: Path) -> None:
    """GIVEN a mailbox used as a context manager WHEN the block ends THEN it is closed."""
    with MaildirMailbox(tmp_path / "mail") as mailbox:
        pass

    assert mailbox.uses_inotify is False


def test_filing_does_not_list_the_folders_however_full_they_are(
    make_mailbox: MailboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a Processed folder already holding 500 emails, and a new email in the inbox
    WHEN the new email is filed in Processed and later re-filed to Exceptions
    THEN no folder is listed (each lookup is a stat of the name mailbot gave the file), so a
    move costs the same after years of referrals as on the first day."""
    mailbox = make_mailbox(use_inotify=False)
    for n in range(500):
        mailbox.mark_done(mailbox.deliver(Folder.INBOX, _email(n)), Folder.PROCESSED)
    ref = mailbox.deliver(Folder.INBOX, _email(999))
    listed: list[str] = []
    real_listdir = os.listdir

    def counting(path: str | os.PathLike[str]) -> list[str]:
        listed.append(os.fspath(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting)
    moved = mailbox.mark_done(ref, Folder.PROCESSED)
    mailbox.refile(moved, Folder.PROCESSED, Folder.EXCEPTIONS)
    assert listed == []
    monkeypatch.undo()
    assert len(real_listdir(mailbox.root / "Exceptions" / "cur")) == 1
    assert len(real_listdir(mailbox.root / "Processed" / "cur")) == 500
