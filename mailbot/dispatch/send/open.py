"""Opening the sender the configuration names: the one place that chooses a backend.

The outbox and the daemon hold a `Sender` and nothing more; which one it is, and what it is
built from (the `[sender]` settings, a CA bundle, a password), is decided here, when the
app is opened or its configuration reloaded. Backends are imported only when configured.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from mailbot.dispatch.send.base import Sender
from mailbot.dispatch.send.maildir import MaildirSender
from mailbot.errors import ConfigError
from mailbot.settings import SenderSettings


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
