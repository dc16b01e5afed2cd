"""Sending mail through Microsoft Graph, as the referrals mailbox itself, once per message.

With the mailbox on Exchange Online there may be no SMTP relay that accepts mail from
mailbot, and mail sent through Graph lands in the mailbox's Sent Items, where the team sees
it beside its own. A message that fits in one Graph request (about 4 MB, base64 adding a
third) goes as MIME through `sendMail`, byte for byte what the other senders transmit
(X-Mailbot-* headers included); a larger one (minutes run to 20 MB) becomes a draft whose
files are uploaded (`graph_upload`), and the draft is sent.

Graph has no idempotency key, and a reply lost after Graph accepted the message must not
make a second copy when the outbox tries again. Every message mailbot sends has a Message-ID
fixed when it was queued, which Exchange keeps as the item's `internetMessageId`; so before
sending, the mailbox is searched for it. A sent item with it means the earlier attempt went
out: nothing more is sent. A draft with it is the earlier attempt stopped part-way (or its
send still in flight): its missing files are attached and the same draft is sent, and
sending a draft twice cannot make two copies (once sent it is no longer a draft, and Graph
refuses to send it again). The outbox waits at least 30 s before a retry, time enough for
an accepted message to reach Sent Items.

Exchange delivers a MIME message to the addresses in its To, Cc and Bcc headers and has no
separate envelope: envelope recipients missing from the headers are added as a Bcc header
(what SMTP would do), and a message whose headers name someone outside the envelope is
refused rather than delivered to them. A reply Graph refuses for the message itself (400,
413, a From address the app may not send as) is permanent; anything else is transient,
because retrying is safe.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from mailbot.dispatch.send.base import (
    PermanentSendError,
    TransientSendError,
    check_envelope,
    wire_bytes,
)
from mailbot.dispatch.send.graph_upload import (
    TooLargeForGraph,
    attach,
    fits_one_request,
    message_path,
    split,
)
from mailbot.ingest.graph.client import GraphClient, GraphError
from mailbot.ingest.graph.delta import IMMUTABLE_IDS, user_path
from mailbot.ingest.mailbox import MailboxError

_PERMANENT_STATUSES = frozenset({400, 413, 415, 422})
_PERMANENT_CODES = frozenset(
    {
        "ErrorSendAsDenied",
        "ErrorMessageSizeExceeded",
        "ErrorInvalidRecipients",
        "ErrorMimeContentInvalid",
        "ErrorMimeContentInvalidBase64String",
    }
)
_PREFER = {"Prefer": IMMUTABLE_IDS}


@dataclass(frozen=True)
class _Earlier:
    """An item in the mailbox carrying this message's Message-ID."""

    ref: str
    draft: bool


class GraphSender:
    """Sends as the mailbox `address` through `client` (the mailbox's own GraphClient)."""

    def __init__(self, client: GraphClient, address: str) -> None:
        self._client = client
        self._user = user_path(address)

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = with_envelope(wire_bytes(raw), recipients)
        message_id = _message_id(wire)
        try:
            earlier = self._earlier(message_id) if message_id else []
            if any(not item.draft for item in earlier):
                return  # sent by an attempt whose reply was lost
            drafts = [item.ref for item in earlier]
            if not drafts and fits_one_request(wire):
                self._client.request(
                    "sending a message",
                    "POST",
                    f"{self._user}/sendMail",
                    content=base64.b64encode(wire),
                    headers={"Content-Type": "text/plain"},
                )
                return
            self._send_draft(wire, message_id, drafts[0] if drafts else None)
        except TooLargeForGraph as exc:
            raise PermanentSendError(str(exc)) from None
        except GraphError as exc:
            if exc.status in _PERMANENT_STATUSES or exc.code in _PERMANENT_CODES:
                raise PermanentSendError(str(exc), code=exc.status) from None
            raise TransientSendError(str(exc), code=exc.status) from None
        except MailboxError as exc:  # signing in failed: fixable by an administrator
            raise TransientSendError(str(exc)) from None

    def close(self) -> None:
        """The client belongs to the mailbox, which closes it."""

    def _send_draft(self, wire: bytes, message_id: str | None, draft: str | None) -> None:
        """Make (or finish) the draft with its files attached, then send it."""
        parts = split(wire)
        if draft is None:
            draft = self._create_draft(parts.skeleton, message_id)
            missing = list(parts.files)
        else:  # an earlier attempt's draft: attach only what it lacks
            have = Counter(self._attachment_names(draft))
            missing = []
            for file in parts.files:
                if have[file.name] > 0:
                    have[file.name] -= 1
                else:
                    missing.append(file)
        path = message_path(self._user, draft)
        for file in missing:
            attach(self._client, path, file)
        try:
            self._client.request("sending a message", "POST", f"{path}/send")
        except GraphError as exc:
            if exc.gone:  # sent meanwhile by the earlier attempt: found as sent next time
                raise TransientSendError(
                    "Graph: the draft was sent meanwhile; checking for the sent message next time",
                    code=exc.status,
                ) from None
            raise

    def _create_draft(self, skeleton: bytes, message_id: str | None) -> str:
        made = self._client.json(
            "saving a draft",
            "POST",
            f"{self._user}/messages",
            content=base64.b64encode(skeleton),
            headers={"Content-Type": "text/plain", **_PREFER},
        )
        ref = made.get("id")
        if not isinstance(ref, str) or not ref:
            raise GraphError("Graph: saving a draft failed: no message id returned")
        if message_id and made.get("internetMessageId") != message_id:
            # The id it is found by after a lost reply (updatable while a draft).
            self._client.json(
                "saving a draft",
                "PATCH",
                message_path(self._user, ref),
                json={"internetMessageId": message_id},
                headers=_PREFER,
            )
        return ref

    def _earlier(self, message_id: str) -> list[_Earlier]:
        """Items in the mailbox (any folder) carrying `message_id`."""
        found = self._client.json(
            "looking for an earlier attempt",
            "GET",
            f"{self._user}/messages",
            params={
                "$filter": f"internetMessageId eq '{_odata(message_id)}'",
                "$select": "id,isDraft",
            },
            headers=_PREFER,
        )
        return [
            _Earlier(ref=entry["id"], draft=bool(entry.get("isDraft")))
            for entry in found.get("value") or []
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)
        ]

    def _attachment_names(self, draft: str) -> list[str]:
        found = self._client.json(
            "reading a draft's attachments",
            "GET",
            f"{message_path(self._user, draft)}/attachments",
            params={"$select": "name"},
        )
        return [
            str(entry.get("name")) for entry in found.get("value") or [] if isinstance(entry, dict)
        ]


def _message_id(wire: bytes) -> str | None:
    value = BytesHeaderParser().parsebytes(wire).get("Message-ID")
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _odata(value: str) -> str:
    """A value for inside an OData string literal: single quotes are doubled."""
    return value.replace("'", "''")


def with_envelope(wire: bytes, recipients: Sequence[str]) -> bytes:
    """`wire` with a Bcc header for envelope recipients its headers do not name; refused if
    its headers name an address outside the envelope (Exchange would deliver to it)."""
    headers = BytesHeaderParser().parsebytes(wire)

    def named(*fields: str) -> set[str]:
        values = [str(v) for field in fields for v in headers.get_all(field, [])]
        return {address.lower() for _, address in getaddresses(values) if address}

    envelope = {address.lower() for address in recipients}
    if named("to", "cc", "bcc") - envelope:
        raise PermanentSendError(
            "the message's headers name addresses outside the envelope, "
            "which Exchange would deliver to"
        )
    listed = named("to", "cc", "bcc")
    hidden = [address for address in dict.fromkeys(recipients) if address.lower() not in listed]
    if not hidden:
        return wire
    return b"Bcc: " + ", ".join(hidden).encode("ascii") + b"\r\n" + wire
