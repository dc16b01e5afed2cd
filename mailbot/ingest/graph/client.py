"""Talking to Microsoft Graph: bearer tokens, bounded throttling retries, errors in words.

Graph throttles per app and per mailbox, answering 429 (or 503/504) with a Retry-After
header, and asks clients to wait exactly that long: retrying sooner only prolongs it. Every
request here goes through one tenacity policy that honours Retry-After (exponential back-off
when the header is missing), but gives up once one operation would have waited more than
`retry_budget` seconds in all, and then sends nothing more until the wait Graph asked for has
passed, so the runner's own back-off stays in charge. Each wait is recorded in `waits`,
which lets the tests check that Retry-After was honoured without sleeping.

Errors leave as `GraphError`s worded by `describe`: the HTTP status and Graph's error code
(a fixed identifier) are shown, Graph's message never is, because it can quote addresses
and ids and it ends up in the logs. A request that may have reached the server is only
retried for a throttling answer (which means it was not carried out), never after a dropped
connection, so a move or a send is not done twice by a retry here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from mailbot.ingest.graph.auth import TokenProvider
from mailbot.ingest.mailbox import MailboxError
from mailbot.ingest.retry_after import retry_after

RETRY_STATUSES = frozenset({429, 503, 504})
MAX_ATTEMPTS = 6
MAX_BACKOFF = 30.0  # seconds between tries when Graph gives no Retry-After
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NO_MAILBOX = frozenset(
    {
        "ErrorInvalidUser",
        "MailboxNotEnabledForRESTAPI",
        "MailboxNotFound",
        "ErrorNonExistentMailbox",
        "UserNotFound",
    }
)
_GONE = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed", "ResourceNotFound"})


class GraphError(MailboxError):
    """A Graph request failed; `status` (None: no answer) and `code` let callers tell kinds
    apart (gone, forbidden, expired) without reading any message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def gone(self) -> bool:
        """The item (or folder) asked for does not exist (moved away, or never there)."""
        return self.status == 404 and (self.code in _GONE or self.code is None)


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class GraphClient:
    """Authorised requests to `base_url` (Graph's v1.0 root) through `http`."""

    def __init__(
        self,
        tokens: TokenProvider,
        http: httpx.Client,
        *,
        base_url: str,
        retry_budget: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.waits: list[float] = []  # every back-off slept, in seconds, in order
        self._tokens = tokens
        self._budget = retry_budget
        self._sleep = sleep
        self._clock = clock
        self._not_before = 0.0
        self._origin = _origin(self.base_url)

    def json(self, doing: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object Graph answered with ({} for an empty 202/204)."""
        response = self.request(doing, method, url, **kwargs)
        if not response.content:
            return {}
        body = response.json()
        if not isinstance(body, dict):
            raise GraphError(
                f"Graph: {doing} failed: the reply is not a JSON object",
                status=response.status_code,
            )
        return body

    def request(self, doing: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The (read) response to a successful request; failures raised as GraphError."""
        with self._exchange(doing, method, url, stream=False, **kwargs) as response:
            return response

    def upload(self, doing: str, url: str, **kwargs: Any) -> httpx.Response:
        """PUT to a pre-authenticated upload URL (an upload session's `uploadUrl`, on
        outlook.office.com): Graph's documentation says to send no Authorization header
        there, so the bearer token never goes with it; only an https:// URL is accepted.
        Throttling is retried as for any request; a range PUT is safe to repeat."""
        if not url.lower().startswith("https://"):
            raise GraphError(f"Graph: {doing} failed: the upload URL is not https://")
        with self._exchange(doing, "PUT", url, stream=False, presigned=True, **kwargs) as response:
            return response

    def download(self, doing: str, url: str, limit: int, **kwargs: Any) -> bytes:
        """The body of a GET, streamed: at most `limit` + 1 bytes are read and kept, so an
        oversized message costs no more memory than the limit and is still seen as too big."""
        with self._exchange(doing, "GET", url, stream=True, **kwargs) as response:
            data = bytearray()
            try:
                for chunk in response.iter_bytes():
                    data += chunk[: limit + 1 - len(data)]
                    if len(data) > limit:
                        break
            except httpx.TransportError as exc:
                raise _unreachable(doing, exc) from None
            return bytes(data)

    @contextmanager
    def _exchange(
        self,
        doing: str,
        method: str,
        url: str,
        *,
        stream: bool,
        presigned: bool = False,
        **kwargs: Any,
    ) -> Iterator[httpx.Response]:
        holdoff = self._not_before - self._clock()
        if holdoff > 0:
            raise GraphError(
                f"Graph: {doing} not tried: still backing off for "
                f"{holdoff:.0f} s as Microsoft Graph asked",
                status=429,
            )
        absolute = url if presigned else self._absolute(url)
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable)
            | retry_if_exception_type(_NOT_SENT if method != "GET" else httpx.TransportError),
            wait=_wait,
            stop=self._stop,
            sleep=self._sleep,
            before_sleep=self._record,
            reraise=True,
        )
        try:
            response = retrying(self._send, method, absolute, stream, presigned, kwargs)
        except _Retryable as exc:
            wait = _retry_after(exc.response)
            if wait is not None:
                self._not_before = self._clock() + wait
            raise graph_error(doing, exc.response, gave_up=True) from None
        except httpx.TransportError as exc:
            raise _unreachable(doing, exc) from None
        try:
            if not response.is_success:
                if stream:
                    response.read()
                raise graph_error(doing, response)
            yield response
        finally:
            response.close()

    def _send(
        self, method: str, url: str, stream: bool, presigned: bool, kwargs: Mapping[str, Any]
    ) -> httpx.Response:
        response = self._send_once(method, url, stream, presigned, kwargs)
        if response.status_code == 401 and not presigned:  # a token revoked or expired
            response.close()  # early: one fresh try
            self._tokens.invalidate()
            response = self._send_once(method, url, stream, presigned, kwargs)
        if response.status_code in RETRY_STATUSES:
            response.read()  # the error body is small; a streamed one must be read to parse
            response.close()
            raise _Retryable(response)
        return response

    def _send_once(
        self, method: str, url: str, stream: bool, presigned: bool, kwargs: Mapping[str, Any]
    ) -> httpx.Response:
        headers = httpx.Headers(kwargs.get("headers"))  # may repeat a name (two Prefers)
        if not presigned:
            headers["Authorization"] = f"Bearer {self._tokens.token()}"
        request = self.http.build_request(method, url, **{**kwargs, "headers": headers})
        return self.http.send(request, stream=stream)

    def _stop(self, state: RetryCallState) -> bool:
        return (
            state.attempt_number >= MAX_ATTEMPTS
            or state.idle_for + state.upcoming_sleep > self._budget
        )

    def _record(self, state: RetryCallState) -> None:
        self.waits.append(state.upcoming_sleep)

    def _absolute(self, url: str) -> str:
        """`url` under the Graph root; a server-given link must point there too (the bearer
        token goes with it)."""
        if not url.startswith(("https://", "http://")):
            return f"{self.base_url}/{url.lstrip('/')}"
        if _origin(url) != self._origin:
            raise GraphError("Graph: a link in a reply points outside Microsoft Graph")
        return url


def _wait(state: RetryCallState) -> float:
    """Retry-After when Graph gave one; else 1, 2, 4... seconds, at most MAX_BACKOFF."""
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    if isinstance(exc, _Retryable):
        hinted = _retry_after(exc.response)
        if hinted is not None:
            return hinted
    return min(MAX_BACKOFF, 2.0 ** (state.attempt_number - 1))


def _retry_after(response: httpx.Response) -> float | None:
    """The wait Graph asked for (fractions count: Graph's own throttling sample is 2.128)."""
    return retry_after(response.headers.get("Retry-After"))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def error_code(response: httpx.Response) -> tuple[str | None, str]:
    """Graph's error code and (to be read, never shown) message, from its error body."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    return (code if isinstance(code, str) else None), str(error.get("message") or "")


def graph_error(doing: str, response: httpx.Response, *, gave_up: bool = False) -> GraphError:
    status = response.status_code
    code, message = error_code(response)
    text = describe(status, code, message)
    if gave_up:
        text += ", and retrying did not help"
    return GraphError(
        f"Graph: {doing} failed: {text} (HTTP {status}{' ' + code if code else ''})",
        status=status,
        code=code,
    )


def describe(status: int, code: str | None, message: str = "") -> str:
    """What went wrong, in fixed words for an operator (`message` is only read)."""
    if status == 401:
        return (
            "authentication failed: Graph refused the app's token (check tenant_id and "
            "client_id, and that the permissions have admin consent)"
        )
    if status == 403:
        if "AccessPolicy" in message or "RAOP" in message:
            return (
                "access denied by the tenant's application access policy: this mailbox "
                "is not in the group the policy allows (see the README)"
            )
        return (
            "access denied: the app needs the Mail.ReadWrite and Mail.Send application "
            "permissions with admin consent, and this mailbox in its access policy"
        )
    if status == 404 and code in _NO_MAILBOX:
        return (
            "no such mailbox in the tenant (check mailbox.address; an on-premises or "
            "unlicensed mailbox cannot be reached through Graph)"
        )
    if status == 404:
        return "the message or folder no longer exists"
    if status == 410 or (code or "").lower() in ("syncstatenotfound", "resyncrequired"):
        return "the delta link has expired; a full resync is needed"
    if status == 413:
        return "the message is too large for Microsoft Graph"
    if status in RETRY_STATUSES:
        return "Microsoft Graph is throttling mailbot or is unavailable"
    if status >= 500:
        return "Microsoft Graph reported a server error"
    if status == 400:
        return "Graph refused the request as malformed"
    return "unexpected reply"


def _unreachable(doing: str, exc: httpx.TransportError) -> GraphError:
    return GraphError(
        f"Graph: {doing} failed: cannot reach Microsoft Graph (refused, timed "
        f"out, TLS or DNS failure: {type(exc).__name__})"
    )
