"""Checking the mail backends named in the configuration, for `mailbot check`.

`mailbot check` is what IT runs first: it opens the configured mailbox (`mailbot.ingest.open`)
and checks the sender, lists the folders mailbot will use, and says plainly what is wrong,
without processing or sending anything. Opening the backends for work is the stages' own:
`mailbot.ingest.open.open_mailbox` and `mailbot.dispatch.send.open.open_outgoing`.

Which backend fits which deployment: on-premises Exchange, `exchange` (EWS); Microsoft 365,
`graph`, or `imap` with `auth = "oauth2"`. Microsoft blocks EWS in Exchange Online by
default from 1 October 2026 (unless an administrator allows the app) and switches it off
on 1 April 2027, so `check` says so when the EWS endpoint is Exchange Online's.
"""

from __future__ import annotations

import socket
import ssl
from datetime import date
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from mailbot.config import Config
from mailbot.config.mail import (
    ExchangeMailboxSettings,
    GraphMailboxSettings,
    ImapMailboxSettings,
    MaildirMailboxSettings,
    SenderSettings,
)
from mailbot.credentials import Secrets, credential
from mailbot.errors import ConfigError
from mailbot.ingest.mailbox import Mailbox
from mailbot.ingest.open import open_mailbox
from mailbot.models import Folder
from mailbot.store import Store


class ServerMailbox(Mailbox, Protocol):
    def check(self) -> list[str]: ...


def check_mailbox(config: Config, secrets: Secrets, store: Store) -> tuple[list[str], list[str]]:
    """Open the configured mailbox as the daemon would, and close it again: (folders mailbot
    will use, problems found). `MailbotError` when it cannot be opened at all."""
    mailbox = open_mailbox(config, secrets, store)
    try:
        return _check_folders(config, mailbox)
    finally:
        mailbox.close()


def _check_folders(config: Config, mailbox: Mailbox) -> tuple[list[str], list[str]]:
    settings = config.mailbox
    if isinstance(settings, ImapMailboxSettings):
        folders = [settings.inbox, settings.folders.processed, settings.folders.exceptions]
    elif isinstance(settings, ExchangeMailboxSettings | GraphMailboxSettings):
        folders = ["Inbox", settings.folders.processed, settings.folders.exceptions]
    else:
        assert isinstance(settings, MaildirMailboxSettings)
        folders = [str(config.mail_dir / f.value) for f in Folder]
    if isinstance(settings, MaildirMailboxSettings):
        return folders, _check_dirs([Path(f) for f in folders])
    server: ServerMailbox = mailbox  # type: ignore[assignment]  # IMAP, Exchange and Graph
    return folders, server.check()


EWS_BLOCKED = date(2026, 10, 1)  # blocked by default in Exchange Online unless allowed
EWS_OFF = date(2027, 4, 1)  # switched off in Exchange Online, no exceptions
EXCHANGE_ONLINE_HOSTS = frozenset(
    {"outlook.office365.com", "outlook.office.com", "outlook.office365.us"}
)


def exchange_online_ews(config: Config, today: date) -> tuple[list[str], list[str]]:
    """(notes, problems) about an `exchange` mailbox whose EWS endpoint is Exchange
    Online's: a note until EWS is switched off there, a problem from then on."""
    settings = config.mailbox
    if not isinstance(settings, ExchangeMailboxSettings):
        return [], []
    host = (urlsplit(settings.ews_url).hostname or "").lower()
    if host not in EXCHANGE_ONLINE_HOSTS:
        return [], []
    if today >= EWS_OFF:
        return [], [
            "EWS: this is Exchange Online, where Microsoft switched EWS off on 1 April "
            '2027; use kind = "graph" (or "imap" with auth = "oauth2")'
        ]
    when = (
        "blocks EWS by default since" if today >= EWS_BLOCKED else "will block EWS by default from"
    )
    return [
        f"EWS: this is Exchange Online, where Microsoft {when} 1 October 2026 unless an "
        "administrator allows this app, and switches it off on 1 April 2027; use "
        'kind = "graph" (or "imap" with auth = "oauth2")'
    ], []


def check_sender(config: Config, secrets: Secrets) -> list[str]:
    settings = config.sender
    mailbox = config.mailbox
    if (isinstance(mailbox, ExchangeMailboxSettings) and mailbox.send_via_ews) or (
        isinstance(mailbox, GraphMailboxSettings) and mailbox.send_via_graph
    ):
        return []  # checked with the mailbox
    if settings.kind == "maildir":
        return _check_dirs([config.mail_dir / Folder.OUTBOX.value])
    try:
        password = credential(
            secrets, settings.password_credential, required=bool(settings.username)
        )
    except ConfigError as exc:
        return [str(exc)]
    return _check_smtp(settings, password)


def _check_dirs(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        for sub in ("cur", "new", "tmp"):
            directory = path / sub
            if directory.exists() and not directory.is_dir():
                problems.append(f"folders: {directory} is not a directory")
            elif not directory.exists() and path.parent.exists() and not _writable(path.parent):
                problems.append(f"folders: cannot create {directory} (permissions)")
    return problems


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK | os.X_OK)


def _check_smtp(settings: SenderSettings, password: str | None) -> list[str]:
    """Connect, say EHLO, start TLS and log in, then quit: no message is sent."""
    import smtplib  # here: only `mailbot check` needs it, not the daemon's start-up

    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as client:
            client.ehlo()
            if settings.starttls:
                if not client.has_extn("starttls"):
                    return ["TLS: the SMTP server does not offer STARTTLS"]
                cafile = str(settings.ca_file) if settings.ca_file else None
                client.starttls(context=ssl.create_default_context(cafile=cafile))
                client.ehlo()
            if settings.username:
                client.login(settings.username, password or "")
    except socket.gaierror:
        return [f"DNS: cannot resolve the SMTP host {settings.host}"]
    except ssl.SSLError as exc:
        return [f"TLS: the SMTP server's certificate or TLS failed ({exc.reason})"]
    except smtplib.SMTPAuthenticationError:
        return ["authentication: the SMTP server refused the login"]
    except (OSError, smtplib.SMTPException) as exc:
        return [f"network: cannot talk to {settings.host}:{settings.port} ({type(exc).__name__})"]
    return []
