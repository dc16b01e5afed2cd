"""Real SMTP servers for the sender tests: aiosmtpd on 127.0.0.1, started per test.

The senders' whole job is a conversation with a server (STARTTLS, AUTH, reply codes, a
connection dropped halfway), and a mocked smtplib would only echo our own assumptions back.
aiosmtpd speaks the real protocol in a background thread; a scripted handler makes it refuse,
drop or record on cue. The TLS certificates are made afresh by a private test CA, so no key
material is checked in and nothing depends on the machine's trust store.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailbot.config.mail import SenderSettings

HOST = "127.0.0.1"
# Reply codes (RFC 5321 4.2), as the scripted server sends them and the tests expect them.
OK = 250
TRY_AGAIN_LATER = 451  # local error in processing: transient
MAILBOX_UNAVAILABLE = 550  # permanent
AUTHENTICATION_FAILED = 535  # what aiosmtpd answers a wrong password with
ACCEPTED = f"{OK} 2.1.5 OK"
REFUSED_FOR_NOW = f"{TRY_AGAIN_LATER} 4.3.0 Try again later"
REFUSED = f"{MAILBOX_UNAVAILABLE} 5.1.1 Mailbox unavailable"


@dataclass
class Received:
    """One message the server accepted, and the connection (session) it came on."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    session: Session


@dataclass
class ScriptedHandler:
    """Records accepted messages. RCPT replies come from `rcpt_script` while it lasts (then
    from `refuse` by address, else acceptance); `drop_in_data` hangs up after the message."""

    rcpt_script: deque[str] = field(default_factory=deque)
    refuse: dict[str, str] = field(default_factory=dict)
    drop_in_data: bool = False
    rcpt_count: int = 0
    received: list[Received] = field(default_factory=list)
    connections: list[SMTP] = field(default_factory=list)

    async def handle_RCPT(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self.rcpt_count += 1
        reply = self.rcpt_script.popleft() if self.rcpt_script else self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return ACCEPTED

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if server not in self.connections:
            self.connections.append(server)
        if self.drop_in_data:  # the whole message arrived; the reply never will
            hang_up(server)
            return ACCEPTED
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), content, session)
        )
        return f"{OK} 2.0.0 Queued"


@dataclass
class PasswordCheck:
    """An aiosmtpd authenticator accepting exactly one username and password."""

    username: str
    password: str

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.username.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class LocalCA:
    """A CA certificate (PEM file) and a server context with a leaf it signed for 127.0.0.1."""

    ca_file: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@dataclass
class RunningServer:
    handler: ScriptedHandler
    port: int
    controller: Controller

    def settings(self, **overrides: Any) -> SenderSettings:
        values: dict[str, Any] = {
            "kind": "smtp",
            "host": HOST,
            "port": self.port,
            "starttls": False,
            "timeout_seconds": 10.0,
        }
        return SenderSettings.model_validate(values | overrides)

    def drop_connections(self) -> None:
        """Hang up every connection that delivered a message, as an idle timeout would."""

        async def drop() -> None:
            for server in self.handler.connections:
                hang_up(server)

        asyncio.run_coroutine_threadsafe(drop(), self.controller.loop).result(timeout=10)


ServerFactory = Callable[..., RunningServer]


def hang_up(server: SMTP) -> None:
    """Close a connection at once (shutdown sends the FIN now, not on the next loop pass)."""
    transport = server.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
    transport.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_servers() -> Iterator[ServerFactory]:
    """A factory `start(handler, tls=..., **aiosmtpd_options)`; every server stops on exit."""
    started: list[Controller] = []

    def start(
        handler: ScriptedHandler | None = None, *, tls: LocalCA | None = None, **options: Any
    ) -> RunningServer:
        handler = handler or ScriptedHandler()
        port = free_port()
        if tls is not None:
            options["tls_context"] = tls.server_context
        controller = Controller(handler, hostname=HOST, port=port, **options)
        controller.start()
        started.append(controller)
        return RunningServer(handler, port, controller)

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()


def make_local_ca(directory: Path) -> LocalCA:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, made now."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailbot test CA")])
    ca_cert = (
        _certificate(ca_name, ca_key.public_key(), now)
        .issuer_name(ca_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
    leaf = (
        _certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]), key.public_key(), now
        )
        .issuer_name(ca_name)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    return LocalCA(ca_file, server_context)


def scripted(rcpt_script: Iterable[str] = (), **options: Any) -> ScriptedHandler:
    return ScriptedHandler(rcpt_script=deque(rcpt_script), **options)


def _certificate(
    subject: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
