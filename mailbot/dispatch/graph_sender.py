"""Sending mail through Microsoft Graph's `sendMail`, as the referrals mailbox itself.

With the mailbox on Exchange Online there may be no SMTP relay that accepts mail from
mailbot, and mail sent through Graph lands in the mailbox's Sent Items, where the team sees
it beside its own. mailbot's message goes as MIME, base64-encoded in a `text/plain` body,
byte for byte what the other senders transmit (X-Mailbot-* headers included).

Exchange delivers a MIME message to the addresses in its To, Cc and Bcc headers and has no
separate envelope: envelope recipients missing from the headers are added as a Bcc header
(what SMTP would do), and a message whose headers name someone outside the envelope is
refused rather than delivered to them. A reply Graph refuses for the message itself (400,
413, a From address the app may not send as) is permanent; anything else is transient.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from mailbot.dispatch.senders import (
    PermanentSendError,
    TransientSendError,
    check_envelope,
    wire_bytes,
)
from mailbot.ingest.graph_client import GraphClient, GraphError
from mailbot.ingest.graph_delta import user_path
from mailbot.ingest.mailbox import MailboxError

_PERMANENT_STATUSES = frozenset({400, 413, 415, 422})
_PERMANENT_CODES = frozenset({"ErrorSendAsDenied", "ErrorMessageSizeExceeded",
                              "ErrorInvalidRecipients", "ErrorMimeContentInvalid",
                              "ErrorMimeContentInvalidBase64String"})


class GraphSender:
    """Sends as the mailbox `address` through `client` (the mailbox's own GraphClient)."""

    def __init__(self, client: GraphClient, address: str) -> None:
        self._client = client
        self._url = f"{user_path(address)}/sendMail"

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = with_envelope(wire_bytes(raw), recipients)
        try:
            self._client.request("sending a message", "POST", self._url,
                                 content=base64.b64encode(wire),
                                 headers={"Content-Type": "text/plain"})
        except GraphError as exc:
            if exc.status in _PERMANENT_STATUSES or exc.code in _PERMANENT_CODES:
                raise PermanentSendError(str(exc), code=exc.status) from None
            raise TransientSendError(str(exc), code=exc.status) from None
        except MailboxError as exc:  # signing in failed: fixable by an administrator
            raise TransientSendError(str(exc)) from None

    def close(self) -> None:
        """The client belongs to the mailbox, which closes it."""


def with_envelope(wire: bytes, recipients: Sequence[str]) -> bytes:
    """`wire` with a Bcc header for envelope recipients its headers do not name; refused if
    its headers name an address outside the envelope (Exchange would deliver to it)."""
    headers = BytesHeaderParser().parsebytes(wire)

    def named(*fields: str) -> set[str]:
        values = [str(v) for field in fields for v in headers.get_all(field, [])]
        return {address.lower() for _, address in getaddresses(values) if address}

    envelope = {address.lower() for address in recipients}
    if named("to", "cc", "bcc") - envelope:
        raise PermanentSendError("the message's headers name addresses outside the envelope, "
                                 "which Exchange would deliver to")
    listed = named("to", "cc", "bcc")
    hidden = [address for address in dict.fromkeys(recipients) if address.lower() not in listed]
    if not hidden:
        return wire
    return b"Bcc: " + ", ".join(hidden).encode("ascii") + b"\r\n" + wire
