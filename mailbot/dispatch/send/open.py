"""Opening the sender the configuration names: the one place that chooses a backend.

The outbox and the daemon hold a `Sender` and nothing more; which one it is, and what it is
built from, is decided here, when the app is opened or its configuration reloaded: through
the mailbox's own login when an Exchange mailbox has `send_via_ews` or a Graph one
`send_via_graph`, else as the `[sender]` settings say (the Outbox Maildir, or SMTP with its
CA bundle and password). Backends are imported only when configured.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from mailbot.config import Config
from mailbot.config.mail import ExchangeMailboxSettings, GraphMailboxSettings, SenderSettings
from mailbot.credentials import Secrets, credential
from mailbot.dispatch.send.base import Sender
from mailbot.dispatch.send.maildir import MaildirSender
from mailbot.errors import ConfigError
from mailbot.ingest.mailbox import Mailbox


def open_outgoing(config: Config, secrets: Secrets, mailbox: Mailbox) -> Sender:
    """The sender: through EWS or Graph when configured so, else the `[sender]` settings."""
    settings = config.mailbox
    if isinstance(settings, ExchangeMailboxSettings) and settings.send_via_ews:
        from mailbot.dispatch.send.ews import ExchangeSender
        from mailbot.ingest.exchange.mailbox import ExchangeMailbox

        assert isinstance(mailbox, ExchangeMailbox)
        return ExchangeSender(mailbox.connection)
    if isinstance(settings, GraphMailboxSettings) and settings.send_via_graph:
        from mailbot.dispatch.send.graph import GraphSender
        from mailbot.ingest.graph.mailbox import GraphMailbox

        assert isinstance(mailbox, GraphMailbox)
        return GraphSender(mailbox.client, settings.address)
    sender = config.sender
    password = credential(secrets, sender.password_credential, required=bool(sender.username))
    return open_sender(sender, config.mail_dir, password)


def open_sender(settings: SenderSettings, mail_root: Path, password: str | None) -> Sender:
    """The sender `settings` describe; `mail_root` holds the Outbox for the Maildir backend."""
    if settings.kind == "maildir":
        return MaildirSender(mail_root)
    # Imported here, so smtplib is loaded only when SMTP is configured (start-up stays light).
    from mailbot.dispatch.send.smtp import SmtpSender

    return SmtpSender(settings, password, ssl_context=_ssl_context(settings))


def _ssl_context(settings: SenderSettings) -> ssl.SSLContext | None:
    """With `ca_file`, trust exactly that bundle (an internal relay's CA); else system CAs."""
    if settings.ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(settings.ca_file))
    except ssl.SSLError:
        reason = "not a PEM certificate bundle"
    except OSError as exc:
        reason = exc.strerror or "cannot be read"
    raise ConfigError("sender.ca_file", f"{settings.ca_file}: {reason}")
