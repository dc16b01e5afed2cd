"""The rules every response follows, in one ASGI middleware rather than in each page.

Every page may show a victim's details, so: nothing is cached by the browser or a proxy
(`Cache-Control: no-store`), nothing can be framed, scripts and styles come only from this
server (CSP), no referrer leaves with a link, and content types are not sniffed. Every
request is written to the audit log (who, method, path, status: never a query string or a
form body, which may hold a password or a note) before the response goes out, so a request
that cannot be audited is not answered. Requests for another host name (DNS rebinding) and
oversized bodies are refused before any page code runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailbot.store import Store

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)
MAX_BODY_BYTES = 64 * 1024
ANONYMOUS = "anonymous"
_SAFE_PATH = re.compile(r"^(/[A-Za-z0-9._-]{0,64}){0,6}$")
_REFERENCE = re.compile(r"MARAC-\d{4}-\d{5}")


class Guard:
    def __init__(self, app: ASGIApp, *, store: Store, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.store = store
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        problem = self._refuse(scope)
        if problem is not None:
            status, text = problem
            await self._plain(scope, send, status, text)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._audit(scope, int(message["status"]))
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in _REPLACED
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_guarded)

    def _refuse(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in self.allowed_hosts:
            return 400, "Unknown host name."
        if scope["method"] not in ("GET", "HEAD", "POST"):
            return 405, "Method not allowed."
        if scope["method"] == "POST":
            length = headers.get("content-length", "")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                return 413, "The form is too large."
        return None

    async def _plain(self, scope: Scope, send: Send, status: int, text: str) -> None:
        self._audit(scope, status)
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": text.encode()})

    def _audit(self, scope: Scope, status: int) -> None:
        path = str(scope.get("path", ""))
        found = _REFERENCE.search(path)
        shown = path if _SAFE_PATH.match(path) else "(unusual path)"
        user = scope["state"].get("user") or ANONYMOUS
        with self.store.transaction() as conn:
            self.store.audit(
                conn,
                str(user),
                "web_request",
                found.group(0) if found else None,
                f"{scope['method']} {shown} {status}",
            )


_REPLACED = frozenset(name for name, _ in SECURITY_HEADERS)
