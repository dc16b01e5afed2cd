"""Sending through Exchange EWS (`send_via_ews`), as the referrals mailbox itself.

With the mailbox on an on-premises Exchange there may be no SMTP relay that accepts mail
from mailbot, and mail sent through EWS lands in the mailbox's Sent Items, where the team
sees it beside its own. It uses the mailbox's own login (`mailbot.ingest.exchange.connect`,
with its retries and error sorting), so nothing here connects or authenticates; a refusal
that sending again would meet the same way (too large, not allowed to send as, bad
recipients or MIME) is permanent, anything else transient.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from exchangelib import Message
from exchangelib import errors as ews

from mailbot.dispatch.send.base import (
    PermanentSendError,
    TransientSendError,
    check_envelope,
    wire_bytes,
)
from mailbot.ingest.exchange.connect import ExchangeConnection, ExchangeError
from mailbot.ingest.mailbox import MailboxError

# Sending these again will fail the same way: a person must look at the message.
_PERMANENT_SEND = (
    ews.ErrorMessageSizeExceeded,
    ews.ErrorSendAsDenied,
    ews.ErrorInvalidRecipients,
    ews.ErrorMissingRecipients,
    ews.ErrorMimeContentInvalid,
    ews.ErrorMimeContentInvalidBase64String,
    ews.ErrorMimeContentConversionFailed,
    ews.ErrorUnsupportedMimeConversion,
)


class ExchangeSender:
    """Sends MIME through EWS (`send_via_ews`), saving a copy in Sent Items.

    Exchange delivers a MIME message to the addresses in its To, Cc and Bcc headers, and has
    no separate envelope; envelope recipients missing from the headers are added as Bcc
    (what SMTP would do), and a message whose headers name someone outside the envelope is
    refused rather than delivered to them. The sender is always the mailbox itself.
    """

    def __init__(self, connection: ExchangeConnection) -> None:
        self._connection = connection

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = wire_bytes(raw)
        headers = BytesHeaderParser().parsebytes(wire)
        named = {
            address.lower()
            for _, address in getaddresses(
                [str(v) for k in ("to", "cc", "bcc") for v in headers.get_all(k, [])]
            )
            if address
        }
        envelope = {address.lower() for address in recipients}
        if named - envelope:
            raise PermanentSendError(
                "the message's headers name addresses outside the "
                "envelope, which Exchange would deliver to"
            )
        visible = {
            address.lower()
            for _, address in getaddresses(
                [str(v) for k in ("to", "cc") for v in headers.get_all(k, [])]
            )
        }
        hidden = [address for address in recipients if address.lower() not in visible]

        def send() -> None:
            account = self._connection.account
            message = Message(
                account=account,
                folder=account.sent,
                mime_content=wire,
                bcc_recipients=hidden or None,
                is_read=True,
            )
            message.send_and_save()

        try:
            self._connection.run("sending a message", send)
        except ExchangeError as exc:
            if issubclass(exc.error_type, _PERMANENT_SEND):
                raise PermanentSendError(str(exc)) from None
            raise TransientSendError(str(exc)) from None
        except MailboxError as exc:
            raise TransientSendError(str(exc)) from None

    def close(self) -> None:
        """The connection belongs to the mailbox, which closes it."""
