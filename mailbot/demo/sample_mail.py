"""Composing emails the way partners' mail clients send them, for the demo and the tests.

Real referral emails are multipart with the form as an attachment, sometimes forwarded, with
the usual headers; building them with the standard library keeps the demo and the tests
honest about what the MIME layer really has to cope with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str = "Please find attached a MARAC referral.",
    attachments: Sequence[tuple[str, bytes, str]] = (),
    message_id: str,
    sent_at: datetime,
) -> bytes:
    """A complete RFC 5322 message; attachments are (filename, bytes, content type)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message.set_content(body)
    for filename, data, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def docx_attachment(filename: str, data: bytes) -> tuple[str, bytes, str]:
    return (filename, data, DOCX_TYPE)
