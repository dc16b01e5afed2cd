"""The one interface every mailbox backend implements (Maildir now; IMAP, EWS, Graph later).

The runner and the intake stage only ever talk to a `Mailbox`, so a test hands in a temporary
Maildir and production a server mailbox without either knowing. The contract encodes the
process rules: messages are taken in arrival order, and a message is only ever *moved*
(Inbox to Processed or Exceptions, Exceptions to Processed), never deleted, so the original
email is always there for the MARAC team to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from mailbot.errors import MailbotError
from mailbot.models import Folder, MailboxMessage


class MailboxError(MailbotError):
    """The mailbox cannot do what was asked (not a problem with any one email's content)."""


class MessageNotFoundError(MailboxError):
    """No message with this ref is in the source folder, nor already in the target folder."""

    def __init__(self, ref: str, folder: Folder) -> None:
        super().__init__(f"no message {ref!r} in {folder.value}")
        self.ref = ref
        self.folder = folder


@runtime_checkable
class Rereadable(Protocol):
    """A mailbox that can read an inbox message's bytes again by its ref, so intake need not
    hold a large email while it opens the document (Maildir, IMAP)."""

    def read(self, ref: str) -> bytes:
        """The bytes of inbox message `ref`; MessageNotFoundError if it is not there."""
        ...


@runtime_checkable
class Mailbox(Protocol):
    """A referrals mailbox, as the runner sees it."""

    def fetch_new(self) -> Iterator[MailboxMessage]:
        """The unprocessed messages in the inbox, oldest arrival first."""
        ...

    def mark_done(self, ref: str, folder: Folder) -> str:
        """Move a message from the inbox to Processed or Exceptions; return its ref there.

        Idempotent: if it is already in `folder` (a crash after the move), return that ref.
        """
        ...

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        """Move a message between folders (e.g. a resolved held referral); return the new ref."""
        ...

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until new mail may have arrived (True) or `timeout` seconds passed (False)."""
        ...

    def close(self) -> None:
        """Release connections and watches. Safe to call more than once."""
        ...


class NoMailbox:
    """For the parts that decide but never move mail (the web page, the team's commands):
    an email a decision re-files is moved by the daemon's next pass (`Intake.reconcile`)."""

    def fetch_new(self) -> Iterator[MailboxMessage]:
        return iter(())

    def mark_done(self, ref: str, folder: Folder) -> str:
        raise MailboxError("no mailbox is open here: the daemon moves the email")

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        raise MailboxError("no mailbox is open here: the daemon moves the email")

    def wait_for_mail(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        pass
