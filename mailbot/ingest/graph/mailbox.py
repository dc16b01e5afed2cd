"""A `Mailbox` on Exchange Online through Microsoft Graph: the referrals mailbox after EWS.

Microsoft switches Exchange Web Services off in Exchange Online (for good on 1 April 2027),
so the organisations that host the referrals mailbox in Microsoft 365 reach it here, with
the Exchange backend's behaviour: new mail is found by a persisted delta query on the inbox
(`graph_delta`: a restart catches up on everything that arrived meanwhile), polled every
`delta_poll_seconds` or at once when a change notification says mail arrived
(`graph_notify`, where an endpoint is configured); each message is read as raw MIME
(`$value`), streamed and bounded by the email size limit, so the pipeline sees the same bytes
as from any other backend; and a message is filed by moving it to Processed or Exceptions
(`graph_folders`), never deleted. `GraphSender` sends through the same app registration.

Graph's message resource has no size property; the item's stored size is the MAPI property
PidTagMessageSize (0x0E08), read as an extended property before the MIME is asked for. Over
the limit, only the message's headers (`internetMessageHeaders`) are read and intake gets a
stand-in (`oversized`), so 100 MB is never downloaded to be refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import quote

import httpx

from mailbot.config.mail import GraphMailboxSettings
from mailbot.ingest.graph.auth import GraphAuthError, MsalTokenProvider, TokenProvider
from mailbot.ingest.graph.client import GraphClient, GraphError
from mailbot.ingest.graph.delta import IMMUTABLE_IDS, DeltaRound, read_round, user_path
from mailbot.ingest.graph.folders import GraphFolders
from mailbot.ingest.graph.notify import Notifications
from mailbot.ingest.mailbox import MailboxError
from mailbot.ingest.mime.oversized import header_lines, oversized, stand_in
from mailbot.logs import get_logger
from mailbot.models import DocumentLimits, Folder, MailboxMessage
from mailbot.store import Store

_DONE_FOLDERS = frozenset({Folder.PROCESSED, Folder.EXCEPTIONS})
# The item exists but Exchange cannot render it as MIME: it stays in the inbox for a person.
UNREADABLE = frozenset(
    {
        "ErrorMimeContentConversionFailed",
        "ErrorUnsupportedMimeConversion",
        "ErrorItemCorrupt",
        "ErrorCorruptData",
    }
)
PERMISSIONS = ("Mail.ReadWrite", "Mail.Send")
MESSAGE_SIZE = "Integer 0x0E08"  # PidTagMessageSize, as a Graph extended property id


class GraphMailbox:
    """The mailbox `settings.address`, signed in as the app with `secrets` (by their
    `*_credential` names); the delta link is kept in `state`. `http` and `tokens` replace
    the real transport and MSAL (tests); `sleep` and `clock` pace polling and back-off."""

    def __init__(
        self,
        settings: GraphMailboxSettings,
        secrets: Mapping[str, str],
        state: Store,
        *,
        max_bytes: int = DocumentLimits().max_email_bytes,
        http: httpx.Client | None = None,
        tokens: TokenProvider | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=settings.timeout_seconds)
        self.tokens = tokens or MsalTokenProvider(settings, secrets, self.http)
        self.client = GraphClient(
            self.tokens,
            self.http,
            base_url=settings.graph_url,
            retry_budget=settings.retry_budget_seconds,
            sleep=sleep,
            clock=clock,
        )
        self.folders = GraphFolders(self.client, settings.address, settings.folders)
        self.notifications: Notifications | None = None  # started by the first wait
        self._notify = bool(settings.notification_url)
        self._state = state
        self._max_bytes = max_bytes
        self._sleep = sleep
        self._clock = clock
        self._user = user_path(settings.address)
        self._delta_key = f"graph:{settings.address}:inbox:delta_link"
        self._pending: DeltaRound | None = None  # found by wait_for_mail, not yet offered
        self._last_poll: float | None = None
        self._log = get_logger()

    def __enter__(self) -> GraphMailbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def fetch_new(self) -> Iterator[MailboxMessage]:
        """Everything that arrived since the last finished round, oldest first; at most one
        delta round every `delta_poll_seconds` unless mail is known to be waiting."""
        found, self._pending = self._pending, None
        if found is None:
            if not self._poll_due():
                return
            found = self._poll()
        for item in found.messages:
            message = self._read(item.ref, item.received_at or datetime.now(UTC))
            if message is not None:
                yield message
                del message  # not held while the next one is read (see `MailboxMessage`)
        self._finish(found)

    def mark_done(self, ref: str, folder: Folder) -> str:
        if folder not in _DONE_FOLDERS:
            raise ValueError(f"mark_done moves to Processed or Exceptions, not {folder.value}")
        return self.refile(ref, Folder.INBOX, folder)

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        """Move the message; repeating a move that already happened is harmless (the ids
        are immutable), so a crash between the move and the ledger update loses nothing."""
        if source is target:
            return ref
        return self.folders.move(ref, source, target)

    def wait_for_mail(self, timeout: float) -> bool:
        """True once a delta round (every `delta_poll_seconds`) finds new mail, or a change
        notification arrives; False after `timeout` seconds."""
        deadline = self._clock() + max(0.0, timeout)
        if self._notify and self.notifications is None:
            self._start_notifications()
        while self._pending is None:
            if self.notifications is not None:
                self.notifications.keep_alive()
            now = self._clock()
            if self._poll_due():
                found = self._poll()
                if found.messages:
                    self._pending = found
                    break
                self._finish(found)  # nothing to offer: that round is done
                continue
            if now >= deadline:
                return False
            idle = min(deadline, self._next_poll()) - now
            if self.notifications is None:
                self._sleep(idle)
            elif self.notifications.wait(idle):
                self._last_poll = None  # mail arrived: the next round is due now
                break
        return True

    def close(self) -> None:
        if self.notifications is not None:
            self.notifications.close()
            self.notifications = None
        if self._owns_http:
            self.http.close()

    def check(self, *, sending: bool = True) -> list[str]:
        """Sign in and look at everything mailbot will use, changing nothing; return what is
        wrong, as sentences for an operator (empty: all is well). `sending`: mail will go
        out through `GraphSender`, so Mail.Send is needed too."""
        try:
            token = self.tokens.token()
            self.client.json(
                "opening the inbox",
                "GET",
                f"{self._user}/mailFolders/inbox",
                params={"$select": "id,displayName"},
            )
        except (GraphAuthError, GraphError) as exc:
            return [str(exc)]  # nothing else can work
        problems = []
        # With Entra permissions the token lists them; with RBAC for Applications (scoped in
        # Exchange instead) it lists none, and only using a permission shows it is missing.
        roles = token_roles(token)
        for permission in PERMISSIONS[: 2 if sending else 1]:
            if roles and permission not in roles:
                problems.append(
                    f"Graph: the app's token lacks the {permission} application "
                    "permission (grant it in Entra and give admin consent)"
                )
        for folder in sorted(_DONE_FOLDERS):
            try:
                self.folders.id_of(folder, create=False)  # missing: made on first use
            except MailboxError as exc:
                problems.append(str(exc))
        if self.notifications is not None:  # only the running service listens
            problems.extend(self.notifications.problems())
        return problems

    def _start_notifications(self) -> None:
        """Listen for Graph's notifications; if the address is taken, poll instead."""
        self._notify = False
        try:
            self.notifications = Notifications.start(self.client, self.settings)
        except OSError as exc:
            self._log.warning("mailbox.notifications", mailbox="graph", error=type(exc).__name__)

    def _poll_due(self) -> bool:
        return self._clock() >= self._next_poll()

    def _next_poll(self) -> float:
        if self._last_poll is None:
            return float("-inf")
        return self._last_poll + self.settings.delta_poll_seconds

    def _poll(self) -> DeltaRound:
        self._last_poll = self._clock()
        found = read_round(
            self.client, self.settings.address, self._state.state_get(self._delta_key)
        )
        if found.resynced:
            self._log.warning("mailbox.resync", mailbox="graph", count=len(found.messages))
        return found

    def _finish(self, found: DeltaRound) -> None:
        """Every message of the round was offered and come back from: save where it ended."""
        self._state.state_set(self._delta_key, found.delta_link)

    def _read(self, ref: str, received_at: datetime) -> MailboxMessage | None:
        """The message as intake sees it: its MIME, or, over the size limit, a stand-in made
        from its headers; None if it has gone or cannot be rendered as MIME."""
        try:
            size = self._size(ref)
            if oversized(size, self._max_bytes):
                assert size is not None
                self._log.warning("mailbox.oversized", mailbox="graph", size=size)
                return stand_in(
                    ref,
                    self._headers(ref),
                    size=size,
                    limit=self._max_bytes,
                    received_at=received_at,
                )
        except GraphError as exc:
            if exc.gone:
                return None
            raise
        raw = self._download(ref)
        return (
            MailboxMessage(ref=ref, raw=raw, received_at=received_at) if raw is not None else None
        )

    def _size(self, ref: str) -> int | None:
        """The item's stored size (PidTagMessageSize); None when Graph gives none."""
        found = self.client.json(
            "reading a new message's size",
            "GET",
            f"{self._user}/messages/{quote(ref, safe='')}",
            params={
                "$select": "id",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{MESSAGE_SIZE}')",
            },
            headers={"Prefer": IMMUTABLE_IDS},
        )
        for prop in found.get("singleValueExtendedProperties") or []:
            value = str(prop.get("value", "")) if isinstance(prop, dict) else ""
            if _is_message_size(str(prop.get("id", ""))) and value.isdigit():
                return int(value)
        return None

    def _headers(self, ref: str) -> bytes:
        found = self.client.json(
            "reading a new message's headers",
            "GET",
            f"{self._user}/messages/{quote(ref, safe='')}",
            params={"$select": "internetMessageHeaders"},
            headers={"Prefer": IMMUTABLE_IDS},
        )
        pairs = [
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in found.get("internetMessageHeaders") or []
            if isinstance(h, dict)
        ]
        return header_lines(pairs)

    def _download(self, ref: str) -> bytes | None:
        """The message's MIME; None if it has gone or cannot be rendered as MIME."""
        try:
            return self.client.download(
                "reading a new message",
                f"{self._user}/messages/{quote(ref, safe='')}/$value",
                self._max_bytes,
                headers={"Prefer": IMMUTABLE_IDS},
            )
        except GraphError as exc:
            if exc.gone or exc.code in UNREADABLE:
                self._log.warning("mailbox.unreadable", mailbox="graph", error=exc.code)
                return None
            raise


def _is_message_size(prop_id: str) -> bool:
    """Whether an extended property id is PidTagMessageSize ("Integer 0x0E08"; Graph may
    answer with the tag in another form, such as "Integer 0xe08")."""
    kind, _, tag = prop_id.partition(" ")
    try:
        return kind.lower() == "integer" and int(tag, 16) == 0x0E08
    except ValueError:
        return False


def token_roles(token: str) -> frozenset[str] | None:
    """The application permissions an access token carries (its `roles` claim); None when
    the token is not a readable JWT. Only read to explain a problem, never trusted."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()
