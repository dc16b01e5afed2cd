"""Opening the mailbox the configuration names: where referrals come from.

`mailbox.kind` picks the backend (the embedded Maildir, IMAP, Exchange EWS, Microsoft
Graph), each behind the one `Mailbox` protocol, so the runner never knows which. The server
backends are imported only when configured: exchangelib, msal and httpx together are some
40 MB of a daemon that, on the embedded Maildir, needs none of them.
"""

from __future__ import annotations

from mailbot.config import Config
from mailbot.config.mail import ExchangeMailboxSettings, GraphMailboxSettings, ImapMailboxSettings
from mailbot.credentials import Secrets, credential
from mailbot.ingest.mailbox import Mailbox
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.store import Store


def open_mailbox(config: Config, secrets: Secrets, store: Store) -> Mailbox:
    """The mailbox `config` names, logged in with `secrets`; a server mailbox keeps its small
    state (sync state, a move under way) in `store`. Nothing is fetched yet."""
    settings = config.mailbox
    plain = {k: v.get_secret_value() for k, v in secrets.credentials.items()}
    if isinstance(settings, ImapMailboxSettings):
        from mailbot.ingest.imap.mailbox import ImapMailbox

        limit = config.limits.max_email_bytes
        if settings.auth == "oauth2":  # Microsoft 365: XOAUTH2 as the app registration
            from mailbot.ingest.imap.auth import ImapTokens

            return ImapMailbox(settings, ImapTokens(settings, plain), store, max_bytes=limit)
        password = credential(secrets, settings.password_credential)
        assert password is not None
        return ImapMailbox(settings, password, store, max_bytes=limit)
    if isinstance(settings, ExchangeMailboxSettings):
        from mailbot.ingest.exchange.mailbox import ExchangeMailbox

        return ExchangeMailbox(settings, plain, store, max_bytes=config.limits.max_email_bytes)
    if isinstance(settings, GraphMailboxSettings):
        from mailbot.ingest.graph.mailbox import GraphMailbox

        return GraphMailbox(settings, plain, store, max_bytes=config.limits.max_email_bytes)
    return MaildirMailbox(config.mail_dir)
