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

from imapclient import IMAPClient

from mailbot.config.mail import ImapMailboxSettings
from mailbot.ingest.imap import wire as imapwire
from mailbot.ingest.imap.wire import CapabilityError, Credential
from mailbot.ingest.mailbox import MailboxError

EXCHANGE_ONLINE = ("outlook.office365.com", "outlook.office.com")


def diagnose(
    settings: ImapMailboxSettings, credential: Credential, context: ssl.SSLContext
) -> list[str]:
    """Findings about the mailbox, problems first; empty when everything is ready."""
    where = f"{settings.host}:{settings.port}"
    try:
        socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return [f"DNS: cannot resolve {settings.host} ({getattr(exc, 'strerror', None) or exc})"]
    try:
        client = imapwire.connect(settings, context)
    except ssl.SSLCertVerificationError as exc:
        return [
            f"TLS: the certificate of {where} is not trusted ({exc.verify_message}); "
            "set mailbox.ca_file to the CA that issued it"
        ]
    except ssl.SSLError as exc:
        return [
            f"TLS: handshake with {where} failed ({exc.reason or type(exc).__name__}); "
            f"is security = {settings.security!r} right for port {settings.port}?"
        ]
    except (CapabilityError, imaplib.IMAP4.error):
        return [f"TLS: {where} does not offer STARTTLS; mailbot will not log in unencrypted"]
    except OSError as exc:
        return [f"network: cannot connect to {where} ({exc.strerror or type(exc).__name__})"]
    try:
        try:
            capabilities = imapwire.login(client, settings.username, credential)
        except MailboxError as exc:  # no token: Entra refused or could not be reached
            return [str(exc)]
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            return [_refused(settings, where)]
        return _capabilities(capabilities) + _folders(client, settings)
    except imapwire.FAILURES as exc:
        return [f"network: the connection to {where} failed ({type(exc).__name__})"]
    finally:
        with contextlib.suppress(*imapwire.FAILURES):
            client.logout()


def _refused(settings: ImapMailboxSettings, where: str) -> str:
    if settings.auth == "oauth2":
        return (
            f"authentication: {where} refused the XOAUTH2 login for {settings.username} "
            "(in Exchange Online the app's service principal needs FullAccess to this "
            "mailbox and the IMAP.AccessAsApp permission; see the README)"
        )
    hint = ""
    if settings.host.lower() in EXCHANGE_ONLINE:
        hint = '; Exchange Online refuses passwords over IMAP: use auth = "oauth2"'
    return (
        f"authentication: {where} refused the login for the configured username "
        f"(check the {settings.password_credential!r} credential{hint})"
    )


def _capabilities(capabilities: frozenset[str]) -> list[str]:
    findings = []
    if "MOVE" not in capabilities and "UIDPLUS" not in capabilities:
        findings.append(
            "server: offers neither MOVE nor UIDPLUS, so messages cannot be filed "
            "without risking others; mailbot will refuse to move them"
        )
    if "IDLE" not in capabilities:
        findings.append("server: no IDLE; new mail is noticed by polling every few seconds")
    return findings


def _folders(client: IMAPClient, settings: ImapMailboxSettings) -> list[str]:
    findings = []
    if not client.folder_exists(settings.inbox):
        findings.append(f"folders: the inbox {settings.inbox!r} does not exist")
    for name in (settings.folders.processed, settings.folders.exceptions):
        if not client.folder_exists(name):
            findings.append(
                f"folders: {name!r} does not exist; it will be created when the "
                "first message is filed there"
            )
    return findings
