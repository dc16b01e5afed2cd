"""A private Dovecot IMAP server for the tests: real TLS, real IDLE, real UIDVALIDITY.

A fake IMAP server would only agree with our own reading of the RFCs; Dovecot is what many
organisations actually run. Each test gets its own instance in a temporary directory, on a
free port of 127.0.0.1, with a self-signed certificate made at test time, one passwd-file
user and its own Maildirs, so nothing on the machine is touched and tests cannot interfere.
Dovecot refuses to run its login and mail processes as root, so under root they run as the
package's unprivileged accounts (`dovenull`, `dovecot`) and `nobody`; otherwise all run as
the current user. Without the `dovecot` binary the tests are skipped, unless
MAILBOT_REQUIRE_DOVECOT=1 (set by CI), where a missing server must fail loudly.
"""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailbot.settings import ImapMailboxSettings

USER = "referrals"
PASSWORD = "correct horse battery staple"
HOST = "127.0.0.1"
REQUIRE_ENV = "MAILBOT_REQUIRE_DOVECOT"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")


def find_binary(name: str) -> str:
    """The path of a Dovecot program; skip the test (or fail, in CI) when it is missing."""
    found = shutil.which(name) or next(
        (f"{d}/{name}" for d in _SBIN if os.access(f"{d}/{name}", os.X_OK)), None)
    if found is None:
        reason = f"{name} is not installed (apt-get install dovecot-imapd)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1")
        pytest.skip(reason)
    return found


class Dovecot:
    """One running server, with helpers that act as another mail client would."""

    def __init__(self, root: Path, capabilities: str | None) -> None:
        self.root = root
        self.port, self.starttls_port = _free_port(), _free_port()
        self.ca_file = root / "cert.pem"
        self._binary = find_binary("dovecot")
        self._process: subprocess.Popen[bytes] | None = None
        _write_certificate(root)
        mail_uid, mail_gid = _write_config(root, self.port, self.starttls_port, capabilities)
        for sub in ("mail", "home"):
            (root / sub).mkdir()
            os.chown(root / sub, mail_uid, mail_gid)

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self) -> None:
        with (self.root / "stderr.log").open("ab") as errors:
            self._process = subprocess.Popen([self._binary, "-F", "-c", str(self.conf)],
                                             stdout=errors, stderr=errors, umask=0o022,
                                             start_new_session=True)
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
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in (self.root / "dovecot.log", self.root / "stderr.log")
                         if p.exists())

    def doveadm(self, *args: str) -> str:
        result = subprocess.run([find_binary("doveadm"), "-c", str(self.conf), *args],
                                capture_output=True, text=True, check=False, timeout=60)
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
            "kind": "imap", "address": "marac_referrals@example.org", "host": HOST,
            "port": self.port, "username": USER, "ca_file": self.ca_file,
            "idle_seconds": 10, "timeout_seconds": 10.0}
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

    def append(self, raw: bytes, folder: str = "INBOX",
               when: dt.datetime | None = None) -> None:
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
            return {item.decode().rpartition(" ")[2].strip('"')
                    for item in data if isinstance(item, bytes)}


@contextmanager
def running_dovecot(*, capabilities: str | None = None) -> Iterator[Dovecot]:
    """A started private Dovecot; `capabilities` replaces what it advertises after login."""
    find_binary("dovecot")
    # A short path under /tmp: Dovecot's sockets live here and must fit in 108 bytes, and its
    # unprivileged login processes must be able to reach them.
    root = Path(tempfile.mkdtemp(prefix="mbdove-"))
    root.chmod(0o755)
    server = Dovecot(root, capabilities)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


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


def _write_config(root: Path, port: int, starttls_port: int,
                  capabilities: str | None) -> tuple[int, int]:
    internal, login, uid, gid = _accounts()
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
auth_mechanisms = plain
passdb {{
  driver = passwd-file
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
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = root / "key.pem"
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key_path.chmod(0o600)
