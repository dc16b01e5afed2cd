"""A private Dovecot IMAP server for the tests: real TLS, real IDLE, real UIDVALIDITY.

A fake IMAP server would only agree with our own reading of the RFCs; Dovecot is what many
organisations actually run. Each test gets its own instance in a temporary directory, on a
free port of 127.0.0.1, with a self-signed certificate made at test time, one passwd-file
user and its own Maildirs, so nothing on the machine is touched and tests cannot interfere.
Dovecot refuses to run its login and mail processes as root, so under root they run as the
package's unprivileged accounts (`dovenull`, `dovecot`) and `nobody`; otherwise all run as
the current user. Without the `dovecot` binary the tests are skipped, unless
MAILBOT_REQUIRE_DOVECOT=1 (set by CI), where a missing server must fail loudly.

For XOAUTH2 the server runs Dovecot's own oauth2 passdb (in dovecot-core: no extra package)
against a small token introspection endpoint (`token_introspection`), so a login is checked
the way a site with an identity provider checks it, with the token the client really sent.
"""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailbot.config.mail import ImapMailboxSettings

USER = "referrals"
PASSWORD = "correct horse battery staple"
HOST = "127.0.0.1"
REQUIRE_ENV = "MAILBOT_REQUIRE_DOVECOT"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")


def find_binary(name: str) -> str:
    """The path of a Dovecot program; skip the test (or fail, in CI) when it is missing."""
    found = shutil.which(name) or next(
        (f"{d}/{name}" for d in _SBIN if os.access(f"{d}/{name}", os.X_OK)), None
    )
    if found is None:
        reason = f"{name} is not installed (apt-get install dovecot-imapd)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1")
        pytest.skip(reason)
    return found


class Dovecot:
    """One running server, with helpers that act as another mail client would."""

    def __init__(
        self, root: Path, capabilities: str | None, introspection_url: str | None = None
    ) -> None:
        self.root = root
        self.port, self.starttls_port = _free_port(), _free_port()
        self.ca_file = root / "cert.pem"
        self._binary = find_binary("dovecot")
        self._process: subprocess.Popen[bytes] | None = None
        _write_certificate(root)
        mail_uid, mail_gid = _write_config(
            root, self.port, self.starttls_port, capabilities, introspection_url
        )
        for sub in ("mail", "home"):
            (root / sub).mkdir()
            os.chown(root / sub, mail_uid, mail_gid)

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self) -> None:
        with (self.root / "stderr.log").open("ab") as errors:
            self._process = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.conf)],
                stdout=errors,
                stderr=errors,
                umask=0o022,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.log()}")
            with suppress(OSError), socket.create_connection((HOST, self.port), timeout=1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start listening:\n{self.log()}")

    def stop(self) -> None:
        """Stop the master, then its children: an imap process can outlive the master."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        deadline = time.monotonic() + 10
        with suppress(ProcessLookupError):  # the server's own session: nothing else is in it
            while time.monotonic() < deadline:
                os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again on the same port: every client connection is cut."""
        self.stop()
        self.start()

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:]
            for p in (self.root / "dovecot.log", self.root / "stderr.log")
            if p.exists()
        )

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [find_binary("doveadm"), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def kick(self) -> None:
        """Cut the user's connections from the server side, as an administrator would."""
        self.doveadm("kick", USER)

    def set_uidvalidity(self, value: int, folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", USER, "--uid-validity", str(value), folder)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def settings(self, **changes: object) -> ImapMailboxSettings:
        values: dict[str, object] = {
            "kind": "imap",
            "address": "marac_referrals@example.org",
            "host": HOST,
            "port": self.port,
            "username": USER,
            "ca_file": self.ca_file,
            "idle_seconds": 10,
            "timeout_seconds": 10.0,
        }
        return ImapMailboxSettings.model_validate(values | changes)

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A second, independent IMAP connection (a person's mail client)."""
        client = imaplib.IMAP4_SSL(HOST, self.port, ssl_context=self.ssl_context(), timeout=30)
        try:
            client.login(USER, PASSWORD)
            yield client
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", when: dt.datetime | None = None) -> None:
        """Deliver a message with IMAP APPEND (`when` becomes its INTERNALDATE)."""
        moment = when or dt.datetime.now(dt.UTC)
        with self.client() as client:
            typ, _ = client.append(folder, None, imaplib.Time2Internaldate(moment), raw)
            assert typ == "OK"

    def messages(self, folder: str) -> list[tuple[str, set[str]]]:
        """(Message-ID, flags) of each message in `folder`, in UID order; [] if no folder."""
        with self.client() as client:
            typ, _ = client.select(folder, readonly=True)
            if typ != "OK":
                return []
            typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            found = []
            for item in data:
                if isinstance(item, tuple):
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                    message_id = item[1].decode().partition(":")[2].strip()
                    found.append((message_id, set((flags[1] if flags else b"").decode().split())))
            return found

    def folders(self) -> set[str]:
        with self.client() as client:
            _, data = client.list()
            return {
                item.decode().rpartition(" ")[2].strip('"')
                for item in data
                if isinstance(item, bytes)
            }


@contextmanager
def running_dovecot(
    *, capabilities: str | None = None, introspection_url: str | None = None
) -> Iterator[Dovecot]:
    """A started private Dovecot; `capabilities` replaces what it advertises after login;
    with `introspection_url` it also accepts XOAUTH2 and OAUTHBEARER, asking that URL (an
    OAuth 2.0 token introspection endpoint, RFC 7662, POST) whether a bearer token is valid
    and whose it is: Dovecot's own oauth2 passdb, as a site with an identity provider runs it."""
    find_binary("dovecot")
    # A short path under /tmp: Dovecot's sockets live here and must fit in 108 bytes, and its
    # unprivileged login processes must be able to reach them.
    root = Path(tempfile.mkdtemp(prefix="mbdove-"))
    root.chmod(0o755)
    server = Dovecot(root, capabilities, introspection_url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Introspection:
    """An OAuth 2.0 token introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb: a
    token in `valid` is active for its user, any other is not; `asked` lists the tokens
    Dovecot asked about."""

    def __init__(self, valid: dict[str, str]) -> None:
        self.valid = valid
        self.asked: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                token = parse_qs(self.rfile.read(length).decode()).get("token", [""])[0]
                endpoint.asked.append(token)
                user = endpoint.valid.get(token)
                body = json.dumps(
                    {"active": True, "username": user} if user else {"active": False}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self._server.server_address[1]}/introspect"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def token_introspection(valid: dict[str, str]) -> Iterator[Introspection]:
    endpoint = Introspection(valid)
    try:
        yield endpoint
    finally:
        endpoint.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _accounts() -> tuple[str, str, int, int]:
    """(internal user, login user, mail uid, mail gid) for the server's processes."""
    if os.geteuid() != 0:
        name = pwd.getpwuid(os.geteuid()).pw_name
        return name, name, os.geteuid(), os.getegid()

    def account(name: str) -> str:
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            return "nobody"

    nobody = pwd.getpwnam("nobody")
    return account("dovecot"), account("dovenull"), nobody.pw_uid, nobody.pw_gid


def _write_config(
    root: Path,
    port: int,
    starttls_port: int,
    capabilities: str | None,
    introspection_url: str | None = None,
) -> tuple[int, int]:
    internal, login, uid, gid = _accounts()
    oauth2 = ""
    if introspection_url:
        (root / "oauth2.conf").write_text(
            f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
            "force_introspection = yes\n"
        )
        (root / "oauth2.conf").chmod(0o644)
        oauth2 = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
"""
    group = "" if os.geteuid() == 0 else f"default_internal_group = {grp.getgrgid(gid).gr_name}"
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (root / "passwd").chmod(0o644)  # read by the auth processes, whatever the umask
    (root / "dovecot.conf").write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = {HOST}
protocols = imap
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain{" xoauth2 oauthbearer" if introspection_url else ""}
{oauth2}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
  default_fields = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_login_user = {login}
{group}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
{f"imap_capability = {capabilities}" if capabilities else ""}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
""")
    return uid, gid


def _write_certificate(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailbot test IMAP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = root / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
