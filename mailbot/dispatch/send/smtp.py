"""Sending through an SMTP relay, and sorting everything that can go wrong into two kinds.

smtplib reports trouble through a dozen exception types, several of them subclasses of
`OSError`, so the mapping to transient and permanent lives here, in one ordered function,
instead of in every caller. The rules: a reply code decides when there is one (4xx try again,
5xx give up); a network or TLS failure is transient. Two configuration problems are special.
A relay that does not offer STARTTLS when it is required is permanent: sending in clear text
is never the fallback. Failed authentication is transient, so messages wait in the queue
while IT fixes the account instead of being given up.

One connection is kept between messages (an agenda goes to dozens of agencies) and checked
with NOOP before reuse, because relays close idle connections. After any failure it is
dropped, so the next attempt starts from a fresh connection. Not thread-safe: one sender per
thread. Server reply texts are not passed on, since relays echo the refused address in them.

The conversation is run here step by step (MAIL, RCPT, DATA) rather than by `sendmail`, to
know where a failure struck: once the final "." of the message has gone out, the server may
have queued it, so a missing answer (a timeout, a hang-up) is an `UncertainSendError`, never
a transient failure that would be retried into a second copy. One message, connecting
included, takes at most `DEADLINE_FACTOR` times the reply timeout, which is what bounds how
long a stop request (SIGTERM) can wait for the send under way (`worst_send_seconds`).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Sequence

from mailbot.config.mail import SenderSettings
from mailbot.dispatch.send.base import (
    QUIT_SECONDS,
    PermanentSendError,
    SendError,
    TransientSendError,
    UncertainSendError,
    check_envelope,
    recipient_domain,
    wire_bytes,
    worst_send_seconds,
)
from mailbot.errors import ConfigError

_OK = 250
_WILL_FORWARD = 251
_START_INPUT = 354
_DOT_LINE = re.compile(rb"(?m)^\.")
_PERMANENT_CLASS = 5  # 5xx: permanent negative completion (RFC 5321 4.2.1); 4xx transient
_ENHANCED_STATUS = re.compile(rb"\s*([245]\.\d{1,3}\.\d{1,3})\b")  # RFC 3463, e.g. 5.1.1


class SmtpSender:
    """Sends through `settings.host:port` with STARTTLS (unless disabled for localhost)."""

    def __init__(
        self,
        settings: SenderSettings,
        password: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if settings.username is not None and not password:
            raise ConfigError(
                f"credentials.{settings.password_credential}",
                "the SMTP username is set but no password was found",
            )
        self._settings = settings
        self._password = password
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSender(host={self._settings.host!r}, port={self._settings.port})"

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        check_envelope(envelope_from, recipients)
        wire = wire_bytes(raw)
        deadline = time.monotonic() + worst_send_seconds(self._settings)
        conversation = _Conversation(deadline, self._settings.timeout_seconds)
        try:
            smtp = self._connection(conversation)
            options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") and not wire.isascii() else []
            refused = conversation.transmit(smtp, envelope_from, list(recipients), wire, options)
        except Exception as exc:
            self.close()
            if conversation.whole and not isinstance(exc, SendError | smtplib.SMTPDataError):
                raise UncertainSendError(
                    "the server received the whole message but did not answer"
                    f" ({_why(exc)}): it may have been delivered"
                ) from None
            error = classify(exc)
            if error is None:
                raise
            raise error from None  # the chained smtplib error may quote addresses
        if refused:
            # Accepted for some recipients: a retry would send them a duplicate.
            codes = sorted({code for code, _ in refused.values()})
            raise PermanentSendError(
                f"accepted for {len(recipients) - len(refused)} of {len(recipients)} "
                f"recipients; refused with {', '.join(map(str, codes))} (not retried)",
                code=codes[-1],
            )

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        sock = getattr(smtp, "sock", None)
        if sock is not None:  # a relay slow to say goodbye must not hold up a stop
            with contextlib.suppress(OSError):
                sock.settimeout(min(self._settings.timeout_seconds, QUIT_SECONDS))
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connection(self, conversation: _Conversation) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                conversation.limit(self._smtp)
                if self._smtp.noop()[0] == _OK:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        settings = self._settings
        # Connecting in the constructor is what makes STARTTLS check the certificate against
        # the host name: connect() alone leaves smtplib's server_hostname empty.
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=conversation.remaining())
        try:
            self._open(smtp, conversation)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _open(self, smtp: smtplib.SMTP, conversation: _Conversation) -> None:
        settings = self._settings
        conversation.limit(smtp)
        smtp.ehlo()
        if settings.starttls:
            if not smtp.has_extn("starttls"):
                raise PermanentSendError("the server does not offer STARTTLS")
            context = self._ssl_context or ssl.create_default_context()
            conversation.limit(smtp)
            smtp.starttls(context=context)
            conversation.limit(smtp)
            smtp.ehlo()  # the capabilities before TLS no longer count (RFC 3207 4.2)
        if settings.username is not None and self._password is not None:
            if not smtp.has_extn("auth"):
                raise PermanentSendError("the server does not offer AUTH")
            conversation.limit(smtp)
            smtp.login(settings.username, self._password)


class _Conversation:
    """One message's SMTP exchange: its deadline, and whether the server has it whole."""

    def __init__(self, deadline: float, timeout: float) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.whole = False  # the final "." went out: the server may have queued the message

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the message took longer to send than its deadline")
        return min(self.timeout, left)

    def limit(self, smtp: smtplib.SMTP) -> None:
        """Let the next step wait no longer than the reply timeout, nor past the deadline."""
        sock = getattr(smtp, "sock", None)
        if sock is not None:
            sock.settimeout(self.remaining())

    def transmit(
        self,
        smtp: smtplib.SMTP,
        envelope_from: str,
        recipients: list[str],
        wire: bytes,
        options: list[str],
    ) -> dict[str, tuple[int, bytes]]:
        """MAIL, RCPT and DATA as `smtplib.SMTP.sendmail` does them, noting when the whole
        message has gone out. Returns the recipients refused (the others accepted)."""
        self.limit(smtp)
        code, reply = smtp.mail(envelope_from, options)
        if code != _OK:
            _reset(smtp)
            raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            self.limit(smtp)
            code, reply = smtp.rcpt(recipient)
            if code not in (_OK, _WILL_FORWARD):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            _reset(smtp)
            raise smtplib.SMTPRecipientsRefused(refused)
        self.limit(smtp)
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != _START_INPUT:
            _reset(smtp)
            raise smtplib.SMTPDataError(code, reply)
        self.limit(smtp)
        smtp.send(_DOT_LINE.sub(b"..", wire) + b".\r\n")  # `wire` ends with CRLF
        self.whole = True
        self.limit(smtp)
        code, reply = smtp.getreply()
        if code != _OK:
            self.whole = False  # refused, so not queued: the reply code decides
            _reset(smtp)
            raise smtplib.SMTPDataError(code, reply)
        return refused


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):  # dropped after a failure anyway
        smtp.rset()


def _why(exc: BaseException) -> str:
    """A missing answer in words, without the server's text."""
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
        return "the connection was closed"
    return type(exc).__name__


def classify(exc: BaseException) -> SendError | None:
    """The SendError `exc` amounts to; None for errors that are bugs rather than sending."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return TransientSendError(
            f"authentication failed ({exc.smtp_code}{_status(exc)})", code=exc.smtp_code
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc, "the envelope sender was refused")
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_code(exc, "the message was refused")
    if isinstance(exc, smtplib.SMTPResponseException):  # greeting, EHLO, STARTTLS, AUTH replies
        return _by_code(exc, "the server refused the session")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentSendError("the server does not support a required SMTP extension")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientSendError("the server closed the connection")
    if isinstance(exc, smtplib.SMTPException):  # e.g. no common AUTH mechanism
        return TransientSendError(f"SMTP error ({type(exc).__name__})")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransientSendError(f"TLS certificate not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return TransientSendError(f"TLS failed ({exc.reason or type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return TransientSendError("timed out")
    if isinstance(exc, ConnectionRefusedError):
        return TransientSendError("connection refused")
    if isinstance(exc, ConnectionError):
        return TransientSendError(f"connection lost ({type(exc).__name__})")
    if isinstance(exc, OSError):  # unreachable network, unknown host name
        return TransientSendError(f"network error ({exc.strerror or type(exc).__name__})")
    return None


def _refused(exc: smtplib.SMTPRecipientsRefused) -> SendError:
    """All recipients refused: permanent only if every refusal was a 5xx."""
    replies = list(exc.recipients.items())
    codes = sorted({code for _, (code, _) in replies})
    domains = ", ".join(sorted({recipient_domain(address) for address, _ in replies}))
    status = _status_of(replies[0][1][1]) if len(codes) == 1 else ""
    reason = f"recipient refused ({domains}): {', '.join(map(str, codes))}{status}"
    if all(code // 100 == _PERMANENT_CLASS for code in codes):
        return PermanentSendError(reason, code=codes[-1])
    return TransientSendError(reason, code=min(codes))


def _by_code(exc: smtplib.SMTPResponseException, what: str) -> SendError:
    code = exc.smtp_code
    reason = f"{what}: {code}{_status(exc)}"
    if code // 100 == _PERMANENT_CLASS:
        return PermanentSendError(reason, code=code)
    return TransientSendError(reason, code=code)  # 4xx, or no reply code at all (-1)


def _status(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return _status_of(error if isinstance(error, bytes) else str(error).encode())


def _status_of(reply: bytes) -> str:
    """The enhanced status code of a reply (` 5.1.1`), the one part safe to pass on."""
    match = _ENHANCED_STATUS.match(reply)
    return f" {match.group(1).decode()}" if match else ""
