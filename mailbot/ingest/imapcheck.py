"""Diagnosing an IMAP mailbox before the service relies on it (for `mailbot check`).

A misconfigured mailbox otherwise shows up only as a daemon retrying in a loop. Here each
step that can fail (name lookup, TCP, TLS, login, folders) is tried once, in order, and a
failure is described in words an administrator can act on. Nothing is created or changed,
and no password or server-supplied text that might echo one appears in a finding.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import ssl

from mailbot.ingest import imapwire
from mailbot.settings import ImapMailboxSettings


def diagnose(settings: ImapMailboxSettings, password: str, context: ssl.SSLContext) -> list[str]:
    """Findings about the mailbox, problems first; empty when everything is ready."""
    where = f"{settings.host}:{settings.port}"
    try:
        socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return [f"DNS: cannot resolve {settings.host} ({getattr(exc, 'strerror', None) or exc})"]
    try:
        client = imapwire.connect(settings, context)
    except ssl.SSLCertVerificationError as exc:
        return [f"TLS: the certificate of {where} is not trusted ({exc.verify_message}); "
                "set mailbox.ca_file to the CA that issued it"]
    except ssl.SSLError as exc:
        return [f"TLS: handshake with {where} failed ({exc.reason or type(exc).__name__}); "
                f"is security = {settings.security!r} right for port {settings.port}?"]
    except imaplib.IMAP4.error:
        return [f"TLS: {where} does not offer STARTTLS; mailbot will not log in unencrypted"]
    except OSError as exc:
        return [f"network: cannot connect to {where} ({exc.strerror or type(exc).__name__})"]
    try:
        try:
            capabilities = imapwire.login(client, settings.username, password)
        except imaplib.IMAP4.error:
            return [f"authentication: {where} refused the login for the configured username "
                    f"(check the {settings.password_credential!r} credential)"]
        return _capabilities(capabilities) + _folders(client, settings)
    except imapwire.FAILURES as exc:
        return [f"network: the connection to {where} failed ({type(exc).__name__})"]
    finally:
        with contextlib.suppress(*imapwire.FAILURES):
            client.logout()


def _capabilities(capabilities: frozenset[str]) -> list[str]:
    findings = []
    if "MOVE" not in capabilities and "UIDPLUS" not in capabilities:
        findings.append("server: offers neither MOVE nor UIDPLUS, so messages cannot be filed "
                        "without risking others; mailbot will refuse to move them")
    if "IDLE" not in capabilities:
        findings.append("server: no IDLE; new mail is noticed by polling every few seconds")
    return findings


def _folders(client: imaplib.IMAP4, settings: ImapMailboxSettings) -> list[str]:
    findings = []
    if not imapwire.folder_exists(client, settings.inbox):
        findings.append(f"folders: the inbox {settings.inbox!r} does not exist")
    for name in (settings.folders.processed, settings.folders.exceptions):
        if not imapwire.folder_exists(client, name):
            findings.append(f"folders: {name!r} does not exist; it will be created when the "
                            "first message is filed there")
    return findings
