"""The IMAP protocol under `ImapMailbox`, on IMAPClient: a TLS-only connection, login, IDLE.

IMAPClient (BSD, maintained since 2007) speaks what a long-running service needs and
Python's imaplib leaves to the caller: IDLE (RFC 2177), MOVE (RFC 6851), UID EXPUNGE of
given UIDs (RFC 4315, never a plain EXPUNGE that would purge every message anyone flagged
\\Deleted), XOAUTH2 login, modified UTF-7 folder names, and typed FETCH replies (INTERNALDATE
as a datetime, RFC822.SIZE as an int). One thing it does not expose is read here from the
imaplib connection underneath it: the COPYUID response code of a UID MOVE or COPY (RFC
4315; Dovecot sends it untagged before the tagged OK, and IMAPClient returns neither), which
gives a moved message's new ref without searching for it. Nothing here ever sends a
password, a token or a message body to a log.
"""

from __future__ import annotations

import imaplib
import re
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from mailbot.config.mail import ImapMailboxSettings

# A dropped, reset or timed-out connection: reconnecting and retrying may help.
TRANSIENT: tuple[type[Exception], ...] = (OSError, imaplib.IMAP4.abort)
# ...or any failure at all, including the server refusing a command.
FAILURES: tuple[type[Exception], ...] = (*TRANSIENT, imaplib.IMAP4.error)

_COPYUID = re.compile(rb"^(\d+) \S+ (\d+)$")


class Tokens(Protocol):
    """Where an XOAUTH2 login gets its access token (MSAL, or a fixed one in a test)."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


Credential = str | Tokens  # a password, or the tokens of an app registration


def connect(settings: ImapMailboxSettings, context: ssl.SSLContext) -> IMAPClient:
    """An encrypted connection (implicit TLS or STARTTLS); never one that stays plaintext."""
    if settings.security == "tls":
        client = IMAPClient(
            settings.host,
            settings.port,
            ssl=True,
            ssl_context=context,
            timeout=settings.timeout_seconds,
        )
    else:
        client = IMAPClient(
            settings.host, settings.port, ssl=False, timeout=settings.timeout_seconds
        )
        try:
            client.starttls(context)  # CapabilityError when the server does not offer it
        except BaseException:
            client.shutdown()
            raise
    client.normalise_times = False  # INTERNALDATE with its offset, not naive local time
    return client


def login(client: IMAPClient, username: str, credential: Credential) -> frozenset[str]:
    """Log in (LOGIN, AUTHENTICATE PLAIN for non-ASCII, or XOAUTH2 with a token); return the
    server's capabilities after login (MOVE and UIDPLUS appear only then)."""
    try:
        if not isinstance(credential, str):
            client.oauth2_login(username, credential.token())
        elif (username + credential).isascii():
            client.login(username, credential)
        else:
            client.plain_login(username, credential)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        if "[UNAVAILABLE]" in str(exc).upper():  # RFC 5530: the server's fault, try again later
            raise imaplib.IMAP4.abort("authentication temporarily unavailable") from None
        if not isinstance(credential, str):
            credential.invalidate()  # a revoked or expired token: the next login asks anew
        raise LoginError("authentication failed") from None
    return frozenset(c.decode("ascii", "replace").upper() for c in client.capabilities())


def copyuid(client: IMAPClient) -> tuple[int, int] | None:
    """(UIDVALIDITY, UID) in the target from the last COPY/MOVE's COPYUID code (RFC 4315),
    kept by imaplib among its untagged responses; None if the server sent none."""
    codes = _untagged(client).pop("COPYUID", [])
    last = codes[-1] if codes else None
    match = _COPYUID.match(last) if isinstance(last, bytes) else None
    return (int(match[1]), int(match[2])) if match else None


def forget_copyuid(client: IMAPClient) -> None:
    _untagged(client).pop("COPYUID", None)


def _untagged(client: IMAPClient) -> dict[str, list[Any]]:
    untagged: dict[str, list[Any]] = client._imap.untagged_responses
    return untagged


def received_at(value: object) -> datetime | None:
    """INTERNALDATE as IMAPClient parses it, with a time zone (UTC if it had none)."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def idle(client: IMAPClient, seconds: float) -> bool:
    """One IDLE of at most `seconds`: True as soon as the server reports EXISTS or RECENT.

    News that arrived in the same packet as the server's "+ idling" is buffered where the
    socket poll cannot see it; it is read with the replies to DONE, so it is noticed at the
    end of this IDLE at the latest. A `* BYE` or a closed stream raises
    `imaplib.IMAP4.abort` like any dropped connection.
    """
    try:
        client.idle()
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        # An untagged reply before the server's "+" (a BYE, or news): the IDLE's state is not
        # known, so the connection is dropped and re-opened, and the caller looks for mail.
        raise imaplib.IMAP4.abort("unexpected reply to IDLE") from None
    news = False
    deadline = time.monotonic() + seconds
    try:
        while not news and (left := deadline - time.monotonic()) > 0:
            responses = client.idle_check(timeout=left)
            if not responses:
                break  # timed out (or the stream ended: DONE below finds out)
            news = _is_news(responses)
    finally:
        _, responses = client.idle_done()
    return news or _is_news(responses)


def _is_news(responses: Sequence[Any]) -> bool:
    for response in responses:
        if not isinstance(response, tuple) or len(response) < 2:
            continue
        if response[0] == b"BYE":
            raise imaplib.IMAP4.abort("connection closed by the server")
        count, kind = response[0], response[1]
        if kind == b"EXISTS" or (kind == b"RECENT" and isinstance(count, int) and count > 0):
            return True
    return False


__all__ = [
    "FAILURES",
    "TRANSIENT",
    "CapabilityError",
    "Credential",
    "IMAPClient",
    "LoginError",
    "Tokens",
    "connect",
    "copyuid",
    "idle",
    "login",
    "received_at",
]
