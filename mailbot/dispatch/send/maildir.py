"""The embedded default sender: outgoing mail lands in the Outbox Maildir, as it would go out.

For the demo, the tests and a deployment not yet given a relay: people read the Outbox to
see what mailbot would have sent, byte for byte what a relay would receive (`wire_bytes`).
A disk that is full or read-only is a transient failure, so the message stays queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mailbot.dispatch.send.base import TransientSendError, check_envelope, wire_bytes
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder


class MaildirSender:
    """The embedded default: each message lands in `<root>/Outbox/new`, as it would go out.

    The envelope is not stored (Maildir has no place for it): the Outbox is for people to read,
    and the message's own To/From headers say where it was going.
    """

    def __init__(self, root: Path) -> None:
        self._mailbox = MaildirMailbox(root, use_inotify=False)

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = wire_bytes(raw)
        try:
            self._mailbox.deliver(Folder.OUTBOX, wire)
        except OSError as exc:  # a full or read-only disk: the message is still the caller's
            raise TransientSendError(f"cannot write to the Outbox ({exc.strerror})") from None

    def close(self) -> None:
        self._mailbox.close()
