"""Finding new mail in an Exchange Online inbox with a Graph delta query.

A delta link says "everything up to here has been seen", so it is only as safe as the moment
it is saved. A round follows `@odata.nextLink` page by page until Graph hands out an
`@odata.deltaLink`; the caller saves that link only once every message of the round has been
offered and come back from (the runner asks for the next message only after the previous
one is committed and moved), so a crash part-way repeats the round and the ledger, keyed on
Message-ID, recognises what was done. A message that left the inbox meanwhile is reported
as `@removed` (or not at all) and simply is not offered.

A delta link expires (after days unused, or when the mailbox moves database). Graph's
delta-query overview names two answers for that: 410 Gone (maintenance or a migration), and
a 40X-series error whose code is `syncStateNotFound` (an expired token; 400 in practice), or
`resyncRequired`. Either way the round starts again from nothing, once, offering everything
still in the inbox, which is exactly the unprocessed mail. Any other 400 is raised: a
malformed request repeated from scratch would fail the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mailbot.ingest.graph.client import GraphClient, GraphError

PAGE_SIZE = 50  # messages per delta page (Graph's default is 10)
MAX_PAGES = 10_000  # a server that never hands out a delta link must not keep mailbot here
IMMUTABLE_IDS = 'IdType="ImmutableId"'  # ids that survive moves within the mailbox
SELECT = "id,receivedDateTime"
# Error codes that mean "this delta link is no longer usable" whatever the 40X status (the
# codes' case varies between Graph's documentation and its replies).
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired"})
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewMessage:
    ref: str  # the message's Graph id (immutable: the same after a move)
    received_at: datetime | None


@dataclass(frozen=True)
class DeltaRound:
    messages: tuple[NewMessage, ...]  # oldest arrival first
    delta_link: str  # where the next round starts, once this one is finished
    resynced: bool = False  # the stored link had expired: this round started afresh


def user_path(address: str) -> str:
    return f"users/{quote(address, safe='@')}"


def initial_url(address: str) -> str:
    return f"{user_path(address)}/mailFolders/inbox/messages/delta?$select={SELECT}"


def read_round(client: GraphClient, address: str, delta_link: str | None) -> DeltaRound:
    """Every message in the inbox new since `delta_link` (None: everything in it)."""
    try:
        return _read(client, delta_link or initial_url(address))
    except GraphError as exc:
        if not expired(exc):  # also when a next link of a long round has lapsed
            raise
    return replace(_read(client, initial_url(address)), resynced=True)


def expired(exc: GraphError) -> bool:
    """Graph says the delta (or next) link can no longer be followed: 410 Gone, or any 40X
    carrying `syncStateNotFound` or `resyncRequired`."""
    if exc.status == 410:
        return True
    return (
        exc.status is not None
        and 400 <= exc.status < 500
        and (exc.code or "").lower() in EXPIRED_CODES
    )


def _read(client: GraphClient, url: str) -> DeltaRound:
    found: dict[str, tuple[NewMessage, int]] = {}
    headers = [("Prefer", f"odata.maxpagesize={PAGE_SIZE}"), ("Prefer", IMMUTABLE_IDS)]
    for page in range(MAX_PAGES):
        body = client.json("reading new mail (delta)", "GET", url, headers=headers)
        for entry in body.get("value") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            if "@removed" in entry:  # moved or deleted out of the inbox: nothing to do
                found.pop(entry["id"], None)
            elif entry["id"] not in found:  # a later update of it changes nothing here
                found[entry["id"]] = (_message(entry), page)
        delta_link = body.get("@odata.deltaLink")
        next_link = body.get("@odata.nextLink")
        if isinstance(delta_link, str):
            ordered = sorted(
                found.values(),
                key=lambda pair: (pair[0].received_at or _LATEST, pair[1], pair[0].ref),
            )
            return DeltaRound(messages=tuple(m for m, _ in ordered), delta_link=delta_link)
        if not isinstance(next_link, str) or next_link == url:
            raise GraphError(
                "Graph: reading new mail (delta) failed: a page has neither a "
                "next link nor a delta link"
            )
        url = next_link
    raise GraphError("Graph: reading new mail (delta) failed: too many pages")


def _message(entry: dict[str, Any]) -> NewMessage:
    return NewMessage(ref=entry["id"], received_at=parse_time(entry.get("receivedDateTime")))


def parse_time(value: object) -> datetime | None:
    """Graph's ISO 8601 UTC timestamps ("2026-11-02T09:00:00Z"); None if absent or odd."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
