"""Turning a planned message into the exact bytes that go on the wire.

The bytes are made once, when the message is put in the outbox, and stored: a resend after a
crash then carries the same Message-ID and the same content, so a recipient's mail system can
recognise the repeat. Every message says which case and what kind it is in X-Mailbot headers,
and replies are marked Auto-Submitted (RFC 3834) so auto-responders do not answer them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from mailbot.errors import MailbotError
from mailbot.models import Frozen, mailbox_address
from mailbot.models import message_id as safe_message_id

FROM_NAME = "MARAC Referrals"
MAX_LINE = 900  # RFC 5322 allows 998 octets a line


class FileAttachment(Frozen):
    filename: str
    data: bytes
    content_type: str


class Planned(Frozen):
    """One message to one recipient, before it is put in the outbox."""

    kind: str
    recipient: str
    subject: str
    body: str
    attachments: tuple[FileAttachment, ...] = ()
    in_reply_to: str | None = None
    variant: str = ""  # distinguishes deliberate repeats (e.g. a re-listing) in the key

    def idem_key(self, reference: str | None) -> str:
        return f"{reference or '-'}|{self.kind}|{self.recipient.lower()}|{self.variant}"


def message_id_for(idem_key: str, from_address: str) -> str:
    digest = hashlib.sha256(idem_key.encode()).hexdigest()[:32]
    return f"<{digest}@{from_address.rpartition('@')[2] or 'mailbot.invalid'}>"


class UnbuildableMessage(MailbotError):
    """A planned message whose recipient or thread id is not safe to write (see
    `mailbot.models.mailbox_address`): it is not sent, and the team is told instead."""


def build_message(
    planned: Planned,
    *,
    reference: str | None,
    from_address: str,
    message_id: str,
    when: datetime,
    references: Sequence[str] = (),
) -> bytes:
    recipient = mailbox_address(planned.recipient)
    thread = [i for i in (*references, planned.in_reply_to) if i]
    if recipient is None or any(safe_message_id(i) is None for i in thread):
        raise UnbuildableMessage(
            f"a {planned.kind} has a recipient or thread id that is not safe to write"
        )
    message = EmailMessage()
    message["From"] = f"{FROM_NAME} <{from_address}>"
    message["To"] = recipient
    message["Subject"] = planned.subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    if planned.in_reply_to:
        message["In-Reply-To"] = planned.in_reply_to
        message["References"] = " ".join(thread)
    message["Auto-Submitted"] = "auto-replied" if planned.in_reply_to else "auto-generated"
    # Exchange's and Outlook's out-of-office and other automatic answers stay quiet.
    message["X-Auto-Response-Suppress"] = "All"
    if reference:
        message["X-Mailbot-Case"] = reference
    message["X-Mailbot-Kind"] = planned.kind
    message.set_content(planned.body, cte=_transfer_encoding(planned.body))
    for attachment in planned.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # Ids and addresses are whole ASCII tokens: written as they are, never folded into
    # encoded words (which no mail client threads by).
    return message.as_bytes(policy=message.policy.clone(max_line_length=MAX_LINE))


def _transfer_encoding(body: str) -> str:
    """7bit when the text allows (readable as is in any client), else quoted-printable."""
    plain = body.isascii() and all(len(line) <= MAX_LINE for line in body.splitlines())
    return "7bit" if plain else "quoted-printable"
