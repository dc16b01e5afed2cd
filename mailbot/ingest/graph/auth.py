"""App-only access tokens for Microsoft 365 (Graph, and IMAP's XOAUTH2), from MSAL.

mailbot runs unattended, so it signs in as an Entra app registration with the OAuth2 client
credentials grant (a client secret or, better, a certificate), never as a person. MSAL keeps
the token in an in-memory cache and asks Entra for a new one only when it is about to
expire; a Graph 401 (a token revoked early, a clock skew) drops the cached token so the
next request fetches a fresh one. MSAL speaks HTTP through the same httpx client as the rest
of the backend, so one transport (and one set of test mocks) carries everything.

A refusal from Entra is reported by its error and AADSTS code only: those name the problem
(a wrong secret, an unknown tenant) without repeating Entra's text, which may quote ids.

The IMAP backend signs in to Exchange Online the same way (client credentials, the scope
https://outlook.office365.com/.default), so the provider takes any settings that name an app
registration (`AppRegistration`) and the scope and service to word its errors with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import msal

from mailbot.errors import ConfigError
from mailbot.ingest.mailbox import MailboxError

SCOPES = ["https://graph.microsoft.com/.default"]
_AADSTS = re.compile(r"AADSTS\d+")


class GraphAuthError(MailboxError):
    """Entra refused to issue a token (or could not be reached)."""


class TokenProvider(Protocol):
    """Where Graph requests get their bearer token (tests may hand in a fixed one)."""

    def token(self) -> str:
        """A valid access token, from the cache while it lasts."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token: Graph refused it (HTTP 401)."""
        ...


class AppRegistration(Protocol):
    """The settings that name an Entra app registration (the Graph and IMAP mailboxes')."""

    @property
    def tenant_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def client_secret_credential(self) -> str: ...
    @property
    def certificate_path(self) -> Path | None: ...
    @property
    def certificate_thumbprint(self) -> str | None: ...
    @property
    def certificate_passphrase_credential(self) -> str | None: ...
    @property
    def authority_host(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...


class MsalTokenProvider:
    """Client-credentials tokens for `settings`' app registration, secrets looked up by name;
    `scopes` and `service` (the word errors begin with) default to Graph's."""

    def __init__(
        self,
        settings: AppRegistration,
        secrets: Mapping[str, str],
        http: httpx.Client,
        *,
        scopes: list[str] | None = None,
        service: str = "Graph",
    ) -> None:
        self._settings = settings
        self._credential = client_credential(settings, secrets)  # checked now, used later
        self._http = _MsalHttp(http, settings.timeout_seconds)
        self._cache = msal.TokenCache()  # memory only: a token is never written to disk
        self._app: Any = None
        self._scopes = scopes or SCOPES
        self._service = service

    def token(self) -> str:
        try:
            if self._app is None:  # MSAL reads the tenant's configuration when made
                self._app = msal.ConfidentialClientApplication(
                    self._settings.client_id,
                    client_credential=self._credential,
                    authority=f"{self._settings.authority_host.rstrip('/')}/"
                    f"{self._settings.tenant_id}",
                    http_client=self._http,
                    token_cache=self._cache,
                )
            result: dict[str, Any] = self._app.acquire_token_for_client(scopes=self._scopes)
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: MSAL's bad-authority error
            raise GraphAuthError(
                f"{self._service}: signing in failed: cannot reach the token service "
                f"({type(exc).__name__}); check tenant_id and authority_host"
            ) from None
        token = result.get("access_token")
        if isinstance(token, str) and token:
            return token
        error = str(result.get("error") or "no token")
        codes = _AADSTS.findall(str(result.get("error_description") or ""))
        raise GraphAuthError(
            f"{self._service}: signing in failed: the token service refused ({error}"
            f"{', ' + codes[0] if codes else ''}): {_HINTS.get(error, _DEFAULT_HINT)}"
        )

    def invalidate(self) -> None:
        for entry in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            self._cache.remove_at(entry)


_DEFAULT_HINT = "check tenant_id, client_id and the client secret or certificate"
_HINTS = {
    "invalid_client": "the client secret or certificate is wrong or expired",
    "unauthorized_client": "the client_id is not an app registration in this tenant",
    "invalid_request": "check tenant_id (the directory id, a GUID) and client_id",
    "invalid_scope": "the app cannot request Graph application permissions",
}


def client_credential(
    settings: AppRegistration, secrets: Mapping[str, str]
) -> str | dict[str, str]:
    """The client secret, or MSAL's certificate credential (private key PEM and thumbprint)."""
    if settings.certificate_path is None or settings.certificate_thumbprint is None:
        return _secret(secrets, settings.client_secret_credential)
    try:
        pem = Path(settings.certificate_path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "mailbox.certificate_path", f"cannot be read ({type(exc).__name__})"
        ) from None
    if "PRIVATE KEY-----" not in pem:
        raise ConfigError("mailbox.certificate_path", "holds no PEM private key")
    credential = {
        "private_key": pem,
        "thumbprint": settings.certificate_thumbprint.replace(":", "").upper(),
    }
    if settings.certificate_passphrase_credential:
        credential["passphrase"] = _secret(secrets, settings.certificate_passphrase_credential)
    return credential


def _secret(secrets: Mapping[str, str], name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise ConfigError("secrets.credentials", f"no {name!r} entry (needed by the mailbox)")
    return value


class _MsalHttp:
    """MSAL's HttpClient interface over httpx (MSAL passes requests-only keywords)."""

    def __init__(self, http: httpx.Client, timeout: float) -> None:
        self._http = http
        self._timeout = timeout

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        if isinstance(data, (str, bytes)):  # MSAL sends a pre-encoded form body as-is
            return self._http.post(
                url, params=params, content=data, headers=headers, timeout=self._timeout
            )
        return self._http.post(
            url, params=params, data=data, headers=headers, timeout=self._timeout
        )

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._http.get(url, params=params, headers=headers, timeout=self._timeout)

    def close(self) -> None:
        """The httpx client belongs to the mailbox, which closes it."""
