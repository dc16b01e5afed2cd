"""XOAUTH2 for IMAP: Exchange Online's mailboxes signed in to as an Entra app registration.

Exchange Online refuses passwords over IMAP; an unattended service signs in with an OAuth
2.0 access token for the scope https://outlook.office365.com/.default, obtained with the
client credentials grant exactly as the Graph backend obtains its own (`graph_auth`, MSAL,
a client secret or a certificate, the token cached in memory only), and sent with the
XOAUTH2 SASL mechanism. Only the login uses it: a new token is asked for (from MSAL's cache
while it lasts) each time the connection is opened, and a refused login drops the cached one.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from mailbot.config.mail import ImapMailboxSettings
from mailbot.ingest.graph.auth import MsalTokenProvider, TokenProvider


class ImapTokens:
    """Access tokens for `settings`' app registration (secrets looked up by name); `http`
    replaces the transport MSAL uses (tests)."""

    def __init__(
        self,
        settings: ImapMailboxSettings,
        secrets: Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        tokens: TokenProvider | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._tokens = tokens or self._provider()

    def token(self) -> str:
        if self._owns_http and self._http.is_closed:  # used again after close(): reopen
            self._http = httpx.Client(timeout=self._settings.timeout_seconds)
            self._tokens = self._provider()
        return self._tokens.token()

    def _provider(self) -> TokenProvider:
        return MsalTokenProvider(
            self._settings,
            self._secrets,
            self._http,
            scopes=[self._settings.oauth_scope],
            service="IMAP",
        )

    def invalidate(self) -> None:
        self._tokens.invalidate()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
