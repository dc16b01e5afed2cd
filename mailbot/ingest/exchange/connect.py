"""Connecting to Exchange Web Services: credentials, a bounded retry policy, errors in words.

exchangelib keeps one `Protocol` (session pool, server version, retry policy) per endpoint and
login, so the mailbox and the sender share one `ExchangeConnection`. exchangelib's own fault
tolerance waits for as long as the server keeps asking (a throttled mailbox can answer "busy,
try again in 5 s" forever), so `BoundedRetry` honours every back-off hint but gives up once
one operation has waited `timeout_seconds` in all, and then refuses to call the server again
before the back-off it was last asked for has passed: the runner's loop stays in charge.

An HTTP 401 is read by whether the login has worked before. exchangelib's fault-tolerant
mode retries every 401 as throttling ("EWS sometimes throws 401's when it wants us to
throttle connections"); a 401 on the first request is a wrong password, and a daemon
retrying that would only lock the account out, so it fails at once. A 401 once this login
has had an answer (or one carrying Retry-After) is what exchangelib means: it is backed off
and retried within the same budget as any throttling, not treated as a login failure.
Retry-After is read with fractions (exchangelib reads whole seconds only, and otherwise
waits a minute).

Errors leave here as `ExchangeError`s worded by `describe`, never with exchangelib's text:
that can quote a server reply (item ids, addresses, subjects) and ends up in the logs.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Configuration,
    Credentials,
    FaultTolerance,
    Identity,
    OAuth2Credentials,
)
from exchangelib import errors as ews

from mailbot.config.mail import ExchangeMailboxSettings
from mailbot.errors import ConfigError, MailbotError
from mailbot.ingest.mailbox import MailboxError
from mailbot.ingest.retry_after import retry_after

T = TypeVar("T")
# One connection streams inbox events while the other does everything else.
MAX_CONNECTIONS = 2

_AUTH = (ews.UnauthorizedError,)
_IMPERSONATION = (
    ews.ErrorImpersonateUserDenied,
    ews.ErrorImpersonationDenied,
    ews.ErrorImpersonationFailed,
    ews.ErrorInvalidExchangeImpersonationHeaderData,
)
_DENIED = (
    ews.ErrorAccessDenied,
    ews.ErrorCreateSubfolderAccessDenied,
    ews.ErrorCreateItemAccessDenied,
    ews.ErrorSubscriptionAccessDenied,
    ews.ErrorSubscriptionDelegateAccessNotSupported,
    ews.ErrorSendAsDenied,
)
_BUSY = (ews.ErrorServerBusy, ews.RateLimitError)
_SERVER = (
    ews.CASError,
    ews.ErrorInternalServerTransientError,
    ews.ErrorMailboxStoreUnavailable,
    ews.ErrorConnectionFailed,
    ews.ErrorConnectionFailedTransientError,
)
_DNS_WORDS = (
    "NameResolutionError",
    "Name or service not known",
    "getaddrinfo failed",
    "nodename nor servname",
    "No address associated",
    "name resolution",
)
_TLS_WORDS = ("SSLError", "CERTIFICATE_VERIFY_FAILED", "certificate verify", "[SSL", "TLSV1")


class ExchangeError(MailboxError):
    """An EWS operation failed; `error_type` is exchangelib's exception class, for callers that
    must tell kinds apart (a sender: transient or permanent) without reading any message."""

    def __init__(self, message: str, error_type: type[BaseException]) -> None:
        super().__init__(message)
        self.error_type = error_type


class ThrottledLogin(ews.ErrorServerBusy):  # type: ignore[misc]
    """HTTP 401 from a server that had accepted this login: EWS throttling, retried."""


class BoundedRetry(FaultTolerance):  # type: ignore[misc]
    """exchangelib's retry policy, bounded per operation and sleeping through `sleep`.

    exchangelib calls `back_off(seconds)` each time it means to retry (with the server's
    BackOffMilliseconds, a Retry-After header, or its own doubling wait after a 503 or a
    timeout); here that wait is slept at once, or refused when it would take the operation
    past its budget. Outside an `operation()` the budget is zero: nothing retries.
    """

    def __init__(
        self,
        budget_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_wait=budget_seconds)
        self._sleep = sleep
        self._clock = clock
        self._local = threading.local()  # the streaming thread has its own budget
        self._not_before = 0.0
        self._held_for: BaseException | None = None  # why the server is being left alone
        self._signed_in = False  # the server has answered this login at least once

    @contextmanager
    def operation(self, budget: float | None = None) -> Iterator[None]:
        """Retries inside may wait `budget` seconds in all (default: the policy's max_wait)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            holdoff = self._not_before - self._clock()
            if holdoff > 0:
                refused = ews.RateLimitError("still backing off", wait=holdoff)
                refused.__context__ = self._held_for  # so `describe` names the real cause
                raise refused
            self._local.left = self.max_wait if budget is None else budget
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self._local.left = 0.0

    @property
    def back_off_until(self) -> None:
        return None  # `back_off` has already slept: exchangelib must not sleep again

    @back_off_until.setter
    def back_off_until(self, value: object) -> None:
        pass

    def back_off(self, seconds: float | None) -> None:
        wait = float(self.DEFAULT_BACKOFF if seconds is None else max(seconds, 0.0))
        left = float(getattr(self._local, "left", 0.0))
        if wait > left:
            # exchangelib calls this while handling the failure: remember which it was.
            self._not_before, self._held_for = self._clock() + wait, sys.exc_info()[1]
            raise ews.RateLimitError("retry budget spent", wait=wait)
        self._local.left = left - wait
        self._sleep(wait)

    def raise_response_errors(self, response: Any) -> None:
        wait = retry_after(response.headers.get("Retry-After"))
        if response.status_code == 401:
            if self._signed_in or wait is not None:  # throttling (see the module docstring)
                raise ThrottledLogin("HTTP 401 after a working login", back_off=wait)
            raise ews.UnauthorizedError("HTTP 401")  # a wrong login: never retried
        try:
            super().raise_response_errors(response)
        except (ews.ErrorServerBusy, ews.ErrorInternalServerTransientError) as exc:
            if wait and not getattr(exc, "back_off", None):  # e.g. "2.5": exchangelib's int()
                raise ews.ErrorServerBusy("Caused by a throttling reply", back_off=wait) from None
            raise
        if response.status_code == 200:
            self._signed_in = True


def make_credentials(
    settings: ExchangeMailboxSettings, secrets: Mapping[str, str]
) -> tuple[Any, str]:
    """exchangelib credentials and auth type for `settings`, secrets looked up by name."""
    if settings.auth == "oauth2":
        for name in ("tenant_id", "client_id"):
            if not getattr(settings, name):
                raise ConfigError(f"mailbox.{name}", 'is required with auth = "oauth2"')
        credentials = OAuth2Credentials(
            client_id=settings.client_id,
            tenant_id=settings.tenant_id,
            client_secret=_secret(secrets, settings.client_secret_credential),
            identity=Identity(primary_smtp_address=settings.address),
        )
        return credentials, OAUTH2
    if not settings.username:
        raise ConfigError("mailbox.username", f'is required with auth = "{settings.auth}"')
    password = _secret(secrets, settings.password_credential)
    return Credentials(settings.username, password), NTLM if settings.auth == "ntlm" else BASIC


def _secret(secrets: Mapping[str, str], name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise ConfigError(f"secrets.credentials.{name}", "is missing (the Exchange login)")
    return value


class ExchangeConnection:
    """One login to one mailbox. The account is made on first use (autodiscover, if enabled,
    is network traffic), and every call to the server goes through `run`."""

    def __init__(
        self,
        settings: ExchangeMailboxSettings,
        secrets: Mapping[str, str],
        *,
        account_factory: Callable[..., Account] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.autodiscover and not settings.ews_url.lower().startswith("https://"):
            raise ConfigError("mailbox.ews_url", "must be an https:// URL")
        credentials, auth_type = make_credentials(settings, secrets)
        self.settings = settings
        self.policy = BoundedRetry(settings.timeout_seconds, sleep)
        self._config = Configuration(
            service_endpoint=settings.ews_url,
            credentials=credentials,
            auth_type=auth_type,
            retry_policy=self.policy,
            max_connections=MAX_CONNECTIONS,
        )
        self._factory: Callable[..., Account] = account_factory or Account
        self._account: Any = None
        self._lock = threading.Lock()
        _quiet_exchangelib()

    @property
    def account(self) -> Any:
        with self._lock:
            if self._account is None:
                account = self._factory(
                    primary_smtp_address=self.settings.address,
                    config=self._config,
                    autodiscover=self.settings.autodiscover,
                    access_type=IMPERSONATION
                    if self.settings.access == "impersonation"
                    else DELEGATE,
                )
                # exchangelib shares one Protocol per endpoint and login: make sure it is ours.
                account.protocol.config.retry_policy = self.policy
                account.protocol.TIMEOUT = self.settings.timeout_seconds
                self._account = account
            return self._account

    def run(self, doing: str, operation: Callable[[], T], *, budget: float | None = None) -> T:
        """`operation()`, its retries bounded; failures raised as ExchangeError."""
        try:
            with self.policy.operation(budget):
                return operation()
        except MailbotError:
            raise
        except Exception as exc:
            raise exchange_error(doing, exc) from None

    def close(self) -> None:
        account, self._account = self._account, None
        if account is not None:
            account.protocol.close()


def exchange_error(doing: str, exc: BaseException) -> ExchangeError:
    return ExchangeError(
        f"Exchange: {doing} failed: {describe(exc)} ({type(exc).__name__})", type(exc)
    )


def describe(exc: BaseException) -> str:
    """What went wrong, in fixed words (exchangelib's text is only read, never repeated)."""
    cause = exc.__context__
    if isinstance(exc, ews.RateLimitError) and isinstance(cause, ThrottledLogin):
        return (
            "the server kept refusing a login it had accepted (HTTP 401: EWS throttling, "
            "or the credentials were revoked), and retrying did not help"
        )
    if (
        isinstance(exc, ews.RateLimitError)
        and isinstance(cause, Exception)
        and not isinstance(cause, ews.ErrorServerBusy)
    ):
        return f"{describe(cause)}, and retrying did not help"  # a 503 or timeouts, not busy
    if isinstance(exc, _AUTH) or type(exc).__module__.startswith("oauthlib"):
        return (
            "authentication failed: check the username and password, or the app "
            "registration (tenant, client id, client secret)"
        )
    if isinstance(exc, _IMPERSONATION):
        return "impersonation refused: the login may not act as this mailbox"
    if isinstance(exc, ews.ErrorNonExistentMailbox):
        return "no mailbox with this address on the server"
    if isinstance(exc, _DENIED):
        return "permission denied: the login lacks rights on this mailbox or folder"
    if isinstance(exc, _BUSY):
        return "the server is throttling mailbot (busy)"
    # exchangelib wraps a TLS failure in a bare TransportError, and a failure while it first
    # asks the server's version too, with the real failure as its context.
    if _is_network(exc) or type(exc) is ews.TransportError:
        text = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}"
        if any(word in text for word in _DNS_WORDS):
            return "the EWS host name does not resolve (DNS)"
        if any(word in text for word in _TLS_WORDS):
            return "TLS failed: the server's certificate is not trusted, or the handshake failed"
        if _is_network(exc) or (exc.__context__ is not None and _is_network(exc.__context__)):
            return "cannot reach the EWS endpoint (refused, timed out or dropped connection)"
        return "the reply is not an EWS response: check mailbox.ews_url"
    if isinstance(exc, ews.RedirectError):
        return "the EWS URL redirects elsewhere: check mailbox.ews_url"
    if isinstance(exc, _SERVER):
        return "the Exchange server reported an internal error"
    if isinstance(exc, (ews.MalformedResponseError, ews.SOAPError)):
        return "the reply is not an EWS response: check mailbox.ews_url"
    return "unexpected error"


def _is_network(exc: BaseException) -> bool:
    """A failure below EWS: exchangelib wraps connection errors in ErrorTimeoutExpired; a
    broken stream raises requests' (or urllib3's) own."""
    return isinstance(exc, (ews.ErrorTimeoutExpired, OSError)) or type(exc).__module__.split(".")[
        0
    ] in ("requests", "urllib3")


def _quiet_exchangelib() -> None:
    """exchangelib logs whole request bodies (a message's MIME) when a request fails; with no
    logging configured Python prints those on stderr, into the journal. Keep them out."""
    logger = logging.getLogger("exchangelib")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
