"""What every sender shares: the `Sender` protocol, its errors, and the checks on a message.

Replies, alerts, agendas and minutes are all handed to a `Sender`, so the demo and the tests
drop them into the Outbox Maildir while production hands them to the organisation's relay,
and nothing upstream knows which. Failures come back in three kinds because the caller must
treat them differently: a `TransientSendError` (the relay is down, a 4xx, a timeout before
the message was whole) means "not delivered: keep the message and try again later"; a
`PermanentSendError` (a 5xx for the recipient, a malformed address) means "this will never
work, tell a person"; an `UncertainSendError` means the server took the whole message and
then never answered, so it may well have queued it: sending again may make a second copy,
so the outbox resends such a message once at most. A lost alert about a high-risk victim is
worse than a late one, so anything not clearly permanent is retried.

Every backend writes the same bytes (`wire_bytes`): CRLF line endings, as SMTP puts them on
the wire, so what the Outbox shows is exactly what a relay would receive. Error messages
name reply codes and recipient domains only, never an address's local part or the message:
they are logged. This module imports no backend, so the daemon can load it at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from mailbot.config.mail import SenderSettings
from mailbot.errors import MailbotError

# One SMTP message (connecting, TLS and login included) gets at most this many reply
# timeouts in all, however slowly a server answers each step (`mailbot.dispatch.send.smtp`).
DEADLINE_FACTOR = 2
QUIT_SECONDS = 5.0  # the longest a closing QUIT is waited for
_LINE_END = re.compile(rb"\r\n|\r|\n")
# An envelope address as mailbot writes them: ASCII (no SMTPUTF8), no spaces, quotes or
# brackets, one @, a domain of dot-separated labels (RFC 5321 4.5.3.1 length limits).
_ADDRESS = re.compile(
    r"[!#-'*+\-/-9=?A-Z^-~.]{1,64}@(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


class SendError(MailbotError):
    """A message could not be sent. `code` is the SMTP reply code, when there was one."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Worth trying again later: 4xx replies, timeouts, dropped or refused connections."""


class PermanentSendError(SendError):
    """Will never succeed as it stands (5xx for the recipient, malformed address): no retry."""


class UncertainSendError(SendError):
    """The server had the whole message and gave no answer (it timed out, or hung up): it may
    have been delivered. Not retried here; the outbox resends it once at most."""


@runtime_checkable
class Sender(Protocol):
    """Where outgoing mail goes, as the dispatch stages see it."""

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        """Send `raw` to `recipients`; raise TransientSendError or PermanentSendError."""
        ...

    def close(self) -> None:
        """Release connections. Safe to call more than once."""
        ...


def wire_bytes(raw: bytes) -> bytes:
    """`raw` with CRLF line endings and a final CRLF: the message as SMTP transmits it.

    Bare LFs are not only non-standard (RFC 5322 2.3) but a known SMTP smuggling vector, so
    strict relays reject them; normalising here keeps the backends byte-identical.
    """
    if not raw:
        raise PermanentSendError("the message is empty")
    wire = _LINE_END.sub(b"\r\n", raw)
    return wire if wire.endswith(b"\r\n") else wire + b"\r\n"


def check_envelope(envelope_from: str, recipients: Sequence[str]) -> None:
    """Refuse what no server should be asked: raise PermanentSendError, naming no address.

    An empty `envelope_from` is the null reverse-path (`MAIL FROM:<>`), right for automatic
    replies (RFC 3834), which must not provoke bounces.
    """
    if isinstance(recipients, str):
        raise TypeError("recipients must be a sequence of addresses, not one string")
    if not recipients:
        raise PermanentSendError("no recipients")
    if envelope_from and not _ADDRESS.fullmatch(envelope_from):
        raise PermanentSendError("the envelope sender address is malformed")
    for address in recipients:
        if not _ADDRESS.fullmatch(address):
            raise PermanentSendError("a recipient address is malformed")


def recipient_domain(address: str) -> str:
    """The part of an address that may appear in logs: the domain, never the local part."""
    return address.rpartition("@")[2] or "?"


def send_with_retry(
    sender: Sender,
    raw: bytes,
    envelope_from: str,
    recipients: Sequence[str],
    *,
    attempts: int = 3,
    wait_max: float = 4.0,
) -> None:
    """Send, retrying transient failures with jittered exponential backoff (at most `wait_max`
    seconds between tries); re-raise the last error. Permanent and uncertain errors are
    raised at once (an uncertain one may have been delivered: a retry could be a copy).

    For a caller with no outbox (a check, a test); the outbox's `Dispatcher` makes one
    attempt per claim instead, so every attempt is counted and a stop request is heard
    between any two.
    """
    # Imported at the first message sent, not at start-up (time and memory of the daemon).
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        wait_random_exponential,
    )

    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    retrying = Retrying(
        retry=retry_if_exception_type(TransientSendError),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.5, max=wait_max),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            sender.send(raw, envelope_from, recipients)


def worst_send_seconds(settings: SenderSettings) -> float:
    """The longest one message can take to send through SMTP, connecting included (here, not
    in `smtp`, so the daemon can know it without loading smtplib at start-up)."""
    return settings.timeout_seconds * DEADLINE_FACTOR
