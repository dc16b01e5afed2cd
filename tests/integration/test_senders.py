"""The senders against a real SMTP server (aiosmtpd on 127.0.0.1) and a real Outbox Maildir.

What matters is what a relay sees and how each failure is classed: a transient one must keep
the message for another try, a permanent one must not hammer the server, and no error text
may carry an address's local part, the message or the password into the logs.
"""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import ValidationError

from mailbot.config.mail import SenderSettings
from mailbot.dispatch.send.base import (
    PermanentSendError,
    Sender,
    SendError,
    TransientSendError,
    UncertainSendError,
    send_with_retry,
)
from mailbot.dispatch.send.maildir import MaildirSender
from mailbot.dispatch.send.open import open_sender
from mailbot.dispatch.send.smtp import SmtpSender
from mailbot.errors import ConfigError
from tests.integration.smtp_server import (
    AUTHENTICATION_FAILED,
    HOST,
    MAILBOX_UNAVAILABLE,
    REFUSED,
    REFUSED_FOR_NOW,
    TRY_AGAIN_LATER,
    LocalCA,
    PasswordCheck,
    ServerFactory,
    make_local_ca,
    running_servers,
    scripted,
)

FROM = "marac.team@example.org"
TO = "jane.chair@agency.example.net"
CASE = "MR-2026-0042"
MESSAGE_ID = "<20261102090000.4f2a@mailbot.example.org>"
RAW = (
    f"From: MARAC Team <{FROM}>\r\nTo: <{TO}>\r\nSubject: Referral accepted\r\n"
    f"Message-ID: {MESSAGE_ID}\r\nX-Mailbot-Case: {CASE}\r\n\r\n"
    ".A line that starts with a dot, which SMTP must stuff and unstuff.\r\n"
    "Thank you for your referral.\r\n"
).encode()
USERNAME, PASSWORD = "mailbot", "correct horse battery staple"


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Start real SMTP servers on 127.0.0.1: `smtp_server(handler, tls=..., **options)`."""
    with running_servers() as start:
        yield start


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_local_ca(tmp_path_factory.mktemp("tls"))


def assert_discreet(error: SendError, *secrets: str) -> None:
    """The error text names no local part, no message content and no password."""
    text = str(error)
    for secret in (*(address.partition("@")[0] for address in (FROM, TO)), *secrets):
        assert secret not in text
    assert CASE not in text


class CountingSender:
    """Wraps a sender to count send() calls, so retry tests need no server-side guesswork."""

    def __init__(self, inner: Sender) -> None:
        self.inner, self.calls = inner, 0

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        self.calls += 1
        self.inner.send(raw, envelope_from, recipients)

    def close(self) -> None:
        self.inner.close()


def test_smtp_delivers_the_exact_bytes(smtp_server: ServerFactory) -> None:
    """GIVEN a recording server WHEN a CRLF message is sent
    THEN it receives those very bytes (headers intact, dot line unstuffed) and the envelope."""
    server = smtp_server()
    with closing(SmtpSender(server.settings(), None)) as sender:
        sender.send(RAW, FROM, [TO])
    [received] = server.handler.received
    assert received.content == RAW
    assert (received.mail_from, received.rcpt_tos) == (FROM, [TO])
    headers = email.message_from_bytes(received.content)
    assert (headers["X-Mailbot-Case"], headers["Message-ID"]) == (CASE, MESSAGE_ID)


def test_maildir_sender_writes_the_exact_bytes_into_outbox_new(tmp_path: Path) -> None:
    """GIVEN a MaildirSender WHEN a message is sent THEN Outbox/new holds exactly its bytes."""
    with closing(MaildirSender(tmp_path / "mail")) as sender:
        sender.send(RAW, FROM, [TO])
    [written] = (tmp_path / "mail" / "Outbox" / "new").iterdir()
    assert written.read_bytes() == RAW
    assert not list((tmp_path / "mail" / "Outbox" / "tmp").iterdir())


def test_both_senders_write_what_goes_on_the_wire(
    smtp_server: ServerFactory, tmp_path: Path
) -> None:
    """GIVEN a message with bare LF line endings and no final newline
    WHEN sent through SMTP and into the Outbox THEN both hold the same CRLF bytes."""
    bare = RAW.replace(b"\r\n", b"\n").rstrip(b"\n")
    server = smtp_server()
    with closing(SmtpSender(server.settings(), None)) as smtp:
        smtp.send(bare, FROM, [TO])
    with closing(MaildirSender(tmp_path / "mail")) as maildir:
        maildir.send(bare, FROM, [TO])
    [written] = (tmp_path / "mail" / "Outbox" / "new").iterdir()
    assert server.handler.received[0].content == RAW
    assert written.read_bytes() == RAW


def test_open_sender_builds_the_configured_backend(tmp_path: Path) -> None:
    """GIVEN the default and an SMTP sender setting WHEN opened
    THEN a MaildirSender and an SmtpSender come back, both Senders, neither connecting yet."""
    smtp_settings = SenderSettings(kind="smtp", host="localhost", port=2525)
    with closing(open_sender(SenderSettings(), tmp_path / "mail", None)) as maildir:
        assert isinstance(maildir, MaildirSender)
        assert isinstance(maildir, Sender)
    with closing(open_sender(smtp_settings, tmp_path / "mail", None)) as smtp:
        assert isinstance(smtp, SmtpSender)
        assert isinstance(smtp, Sender)


def test_recipient_refused_with_550_is_permanent(smtp_server: ServerFactory) -> None:
    """GIVEN a server refusing the recipient with 550 WHEN sending
    THEN PermanentSendError with that code, naming the domain but not the mailbox."""
    server = smtp_server(scripted([REFUSED]))
    with (
        closing(SmtpSender(server.settings(), None)) as sender,
        pytest.raises(PermanentSendError) as caught,
    ):
        sender.send(RAW, FROM, [TO])
    assert caught.value.code == MAILBOX_UNAVAILABLE
    assert "agency.example.net" in str(caught.value)
    assert_discreet(caught.value)
    assert server.handler.received == []


def test_recipient_refused_with_451_is_transient(smtp_server: ServerFactory) -> None:
    """GIVEN a server refusing the recipient with 451 WHEN sending THEN TransientSendError."""
    server = smtp_server(scripted([REFUSED_FOR_NOW]))
    with (
        closing(SmtpSender(server.settings(), None)) as sender,
        pytest.raises(TransientSendError) as caught,
    ):
        sender.send(RAW, FROM, [TO])
    assert caught.value.code == TRY_AGAIN_LATER
    assert_discreet(caught.value)


def test_retry_succeeds_once_the_server_accepts(smtp_server: ServerFactory) -> None:
    """GIVEN a server answering 451 to the first RCPT only WHEN sent with retry
    THEN the second try delivers it, exactly once."""
    server = smtp_server(scripted([REFUSED_FOR_NOW]))
    with closing(CountingSender(SmtpSender(server.settings(), None))) as sender:
        send_with_retry(sender, RAW, FROM, [TO], attempts=3, wait_max=0)
    assert sender.calls == 2
    assert [received.content for received in server.handler.received] == [RAW]


def test_retry_gives_up_after_the_attempts_and_raises_the_last_error(
    smtp_server: ServerFactory,
) -> None:
    """GIVEN a server that always answers 451 WHEN sent with 3 attempts
    THEN it tries 3 times and raises the TransientSendError."""
    server = smtp_server(scripted([REFUSED_FOR_NOW] * 3))
    with (
        closing(CountingSender(SmtpSender(server.settings(), None))) as sender,
        pytest.raises(TransientSendError),
    ):
        send_with_retry(sender, RAW, FROM, [TO], attempts=3, wait_max=0)
    assert sender.calls == server.handler.rcpt_count == 3


def test_retry_does_not_repeat_a_permanent_refusal(smtp_server: ServerFactory) -> None:
    """GIVEN a server refusing with 550 WHEN sent with retry THEN one try, PermanentSendError."""
    server = smtp_server(scripted([REFUSED, REFUSED]))
    with (
        closing(CountingSender(SmtpSender(server.settings(), None))) as sender,
        pytest.raises(PermanentSendError),
    ):
        send_with_retry(sender, RAW, FROM, [TO], attempts=3, wait_max=0)
    assert sender.calls == server.handler.rcpt_count == 1


def test_partial_refusal_is_permanent_so_nobody_gets_a_duplicate(
    smtp_server: ServerFactory,
) -> None:
    """GIVEN two recipients, the second refused with 550 WHEN sending with retry
    THEN the first gets it once and PermanentSendError stops any retry."""
    other = "someone@other.example.com"
    server = smtp_server(scripted(refuse={other: REFUSED}))
    with (
        closing(CountingSender(SmtpSender(server.settings(), None))) as sender,
        pytest.raises(PermanentSendError) as caught,
    ):
        send_with_retry(sender, RAW, FROM, [TO, other], attempts=3, wait_max=0)
    assert sender.calls == 1
    assert [received.rcpt_tos for received in server.handler.received] == [[TO]]
    assert "someone" not in str(caught.value)


def test_connection_dropped_during_data_is_uncertain(smtp_server: ServerFactory) -> None:
    """GIVEN a server that hangs up after receiving the whole message, before replying
    WHEN sending THEN UncertainSendError: it may have queued the message, so sending again
    could make a second copy (the outbox resends such a message once at most)."""
    server = smtp_server(scripted(drop_in_data=True))
    with (
        closing(SmtpSender(server.settings(), None)) as sender,
        pytest.raises(UncertainSendError, match="connection was closed"),
    ):
        sender.send(RAW, FROM, [TO])


def test_connection_refused_is_transient() -> None:
    """GIVEN a port bound but not listening WHEN sending THEN TransientSendError."""
    with socket.socket() as closed_port:
        closed_port.bind((HOST, 0))
        settings = SenderSettings(
            kind="smtp", host=HOST, port=closed_port.getsockname()[1], starttls=False
        )
        with (
            closing(SmtpSender(settings, None)) as sender,
            pytest.raises(TransientSendError, match="connection refused"),
        ):
            sender.send(RAW, FROM, [TO])


def test_connection_is_kept_and_reopened_after_the_server_hangs_up(
    smtp_server: ServerFactory,
) -> None:
    """GIVEN a sender that delivered one message WHEN a second goes on the same connection,
    then the server hangs up, then a third is sent
    THEN all three arrive: two on the first connection, the third on a new one."""
    server = smtp_server()
    with closing(SmtpSender(server.settings(), None)) as sender:
        sender.send(RAW, FROM, [TO])
        sender.send(RAW, FROM, [TO])
        server.drop_connections()
        sender.send(RAW, FROM, [TO])
    first, second, third = (received.session for received in server.handler.received)
    assert first is second
    assert third is not first


@pytest.mark.parametrize(
    ("envelope_from", "recipients"),
    [
        (FROM, ["no-at-sign.example.org"]),
        (FROM, ["Jane <jane@example.org>"]),
        (FROM, ["jane@example.org\r\nRCPT TO:<x@evil.example>"]),
        (FROM, ["jäne@example.org"]),
        ("not an address", [TO]),
        (FROM, []),
    ],
)
def test_malformed_envelope_is_permanent_and_never_reaches_the_server(
    smtp_server: ServerFactory, envelope_from: str, recipients: list[str]
) -> None:
    """GIVEN a malformed address or no recipient WHEN sending
    THEN PermanentSendError before any command reaches the server."""
    server = smtp_server()
    with closing(SmtpSender(server.settings(), None)) as sender, pytest.raises(PermanentSendError):
        sender.send(RAW, envelope_from, recipients)
    assert server.handler.rcpt_count == 0


def test_starttls_with_a_trusted_certificate_delivers(
    smtp_server: ServerFactory, local_ca: LocalCA
) -> None:
    """GIVEN a server requiring STARTTLS with a certificate from a test CA
    WHEN sending with a context trusting that CA THEN it is delivered over TLS."""
    server = smtp_server(tls=local_ca, require_starttls=True)
    context = local_ca.client_context()
    with closing(SmtpSender(server.settings(starttls=True), None, ssl_context=context)) as sender:
        sender.send(RAW, FROM, [TO])
    [received] = server.handler.received
    assert received.content == RAW
    assert received.session.ssl is not None


def test_ca_file_setting_is_trusted_by_open_sender(
    smtp_server: ServerFactory, local_ca: LocalCA, tmp_path: Path
) -> None:
    """GIVEN sender settings with ca_file naming the test CA WHEN open_sender sends
    THEN the STARTTLS certificate is trusted and the message delivered."""
    server = smtp_server(tls=local_ca, require_starttls=True)
    settings = server.settings(starttls=True, ca_file=local_ca.ca_file)
    with closing(open_sender(settings, tmp_path / "mail", None)) as sender:
        sender.send(RAW, FROM, [TO])
    assert [received.content for received in server.handler.received] == [RAW]


def test_untrusted_certificate_is_transient_and_sends_nothing(
    smtp_server: ServerFactory, local_ca: LocalCA
) -> None:
    """GIVEN a STARTTLS server whose CA is not among the system CAs
    WHEN sending with the default context THEN TransientSendError, nothing sent."""
    server = smtp_server(tls=local_ca, require_starttls=True)
    with (
        closing(SmtpSender(server.settings(starttls=True), None)) as sender,
        pytest.raises(TransientSendError, match="certificate not trusted"),
    ):
        sender.send(RAW, FROM, [TO])
    assert server.handler.rcpt_count == 0


def test_server_without_starttls_is_refused_when_it_is_required(
    smtp_server: ServerFactory,
) -> None:
    """GIVEN a server offering no STARTTLS WHEN sending with starttls=true
    THEN PermanentSendError "does not offer STARTTLS", nothing sent in clear."""
    server = smtp_server()
    with (
        closing(SmtpSender(server.settings(starttls=True), None)) as sender,
        pytest.raises(PermanentSendError, match="does not offer STARTTLS"),
    ):
        sender.send(RAW, FROM, [TO])
    assert server.handler.rcpt_count == 0


def test_auth_with_the_right_password_delivers(
    smtp_server: ServerFactory, local_ca: LocalCA
) -> None:
    """GIVEN a server requiring AUTH over TLS WHEN sending with the right password
    THEN the message is accepted (the server accepts nothing unauthenticated)."""
    server = smtp_server(
        tls=local_ca,
        require_starttls=True,
        authenticator=PasswordCheck(USERNAME, PASSWORD),
        auth_required=True,
        auth_require_tls=True,
    )
    settings = server.settings(starttls=True, username=USERNAME)
    context = local_ca.client_context()
    with closing(SmtpSender(settings, PASSWORD, ssl_context=context)) as sender:
        sender.send(RAW, FROM, [TO])
    [received] = server.handler.received
    assert received.session.authenticated is True


def test_auth_with_a_wrong_password_is_transient(
    smtp_server: ServerFactory, local_ca: LocalCA
) -> None:
    """GIVEN a server requiring AUTH WHEN sending with a wrong password
    THEN TransientSendError "authentication failed" (kept for later), without the password."""
    server = smtp_server(
        tls=local_ca,
        require_starttls=True,
        authenticator=PasswordCheck(USERNAME, PASSWORD),
        auth_required=True,
        auth_require_tls=True,
    )
    settings = server.settings(starttls=True, username=USERNAME)
    wrong = "wrong-password-123"
    context = local_ca.client_context()
    with (
        closing(SmtpSender(settings, wrong, ssl_context=context)) as sender,
        pytest.raises(TransientSendError, match="authentication failed") as caught,
    ):
        sender.send(RAW, FROM, [TO])
    assert caught.value.code == AUTHENTICATION_FAILED
    assert_discreet(caught.value, wrong, PASSWORD)
    assert wrong not in repr(sender)
    assert server.handler.received == []


def test_username_without_a_password_is_a_config_error() -> None:
    """GIVEN an SMTP username but no password WHEN the sender is built THEN ConfigError."""
    settings = SenderSettings(kind="smtp", host="localhost", username=USERNAME)
    with pytest.raises(ConfigError, match="smtp_password"):
        SmtpSender(settings, None)


@pytest.mark.parametrize("host", ["mail.example.org", "10.0.0.25"])
def test_remote_host_without_starttls_is_refused_by_config(host: str) -> None:
    """GIVEN a host that is not localhost WHEN starttls=false THEN validation fails."""
    with pytest.raises(ValidationError, match="STARTTLS is required"):
        SenderSettings(kind="smtp", host=host, starttls=False)


def test_ca_file_resolves_against_the_config_directory(tmp_path: Path) -> None:
    """GIVEN a relative ca_file WHEN validated with the config's directory
    THEN it is made absolute there; a missing file is a ConfigError when opened."""
    settings = SenderSettings.model_validate(
        {"kind": "smtp", "ca_file": "certs/relay-ca.pem"}, context={"base": tmp_path}
    )
    assert settings.ca_file == tmp_path.resolve() / "certs" / "relay-ca.pem"
    with pytest.raises(ConfigError, match=r"sender\.ca_file"):
        open_sender(settings, tmp_path / "mail", None)
