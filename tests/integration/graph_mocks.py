"""Microsoft Graph and Entra at the HTTP boundary, for the Graph backend's tests.

respx answers every httpx request, the real MSAL included: the tenant's OpenID
configuration and the token endpoint are mocked like the rest, so no test reaches the
network. Replies are the JSON files under tests/data/graph (shaped like Graph's documented
ones). Time is a `FakeTime`, so back-off and polling are recorded instead of slept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import respx

from mailbot.ingest.graph import GraphMailbox
from mailbot.settings import GraphMailboxSettings
from mailbot.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "graph"
TENANT = "6f1c2c4e-7b0d-4f8e-9d65-2f3f4a1b8c9d"
CLIENT_ID = "0b7e5c1a-3f2d-4e8b-a1c9-5d6e7f8a9b0c"
MAILBOX = "marac_referrals@west-midlands.pnn.police.uk"
LOGIN = f"https://login.microsoftonline.com/{TENANT}"
GRAPH = "https://graph.microsoft.com/v1.0"
USER = f"{GRAPH}/users/{MAILBOX}"
SECRETS = {"graph_client_secret": "client-secret-value"}
DELTA_PATH = r"/messages/delta$"
SKIP_TOKEN = "GwcBoTmPuoTQWfcsAbkYM"
DELTA_TOKEN = "GwcBoTmPKILK4jLH7mAd1lLU"
PROCESSED_ID = json.loads((DATA / "mail-folders-processed.json").read_text())["value"][0]["id"]
CREATED_ID = json.loads((DATA / "mail-folder-created.json").read_text())["id"]


def reply(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def token() -> str:
    return str(reply("token.json")["access_token"])


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def settings(**overrides: Any) -> GraphMailboxSettings:
    values: dict[str, Any] = {"kind": "graph", "address": MAILBOX, "tenant_id": TENANT,
                              "client_id": CLIENT_ID, **overrides}
    return GraphMailboxSettings.model_validate(values)


def mock_login(router: respx.MockRouter, answer: str = "token.json",
               status: int = 200) -> respx.Route:
    """Entra's discovery documents and the tenant's token endpoint; returns the token route."""
    router.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
        json=reply("openid-configuration.json"))
    router.get("https://login.microsoftonline.com/common/discovery/instance").respond(
        json=reply("instance-discovery.json"))  # MSAL asks this after a refusal
    return router.post(f"{LOGIN}/oauth2/v2.0/token").respond(status, json=reply(answer))


def mock_delta_round(router: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """The two pages of the documented first round: (first page, second page) routes."""
    second = router.get(path__regex=DELTA_PATH, params={"$skiptoken": SKIP_TOKEN}).respond(
        json=reply("delta-page-2.json"))
    first = router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json=reply("delta-page-1.json"))
    return first, second


def mock_value(router: respx.MockRouter, ref: str, raw: bytes) -> respx.Route:
    return router.get(f"{USER}/messages/{ref}/$value").respond(
        200, content=raw, headers={"Content-Type": "message/rfc822"})


def open_mailbox(store: Store, time: FakeTime, *, max_bytes: int | None = None,
                 **overrides: Any) -> GraphMailbox:
    """A mailbox with the real MSAL and transport (mocked by respx) on fake time."""
    limit = {"max_bytes": max_bytes} if max_bytes is not None else {}
    return GraphMailbox(settings(**overrides), SECRETS, store, sleep=time.sleep,
                        clock=time.clock, **limit)


class Chunks(httpx.SyncByteStream):
    """A streamed body of `size` bytes in 64 KB chunks, counting what was pulled."""

    def __init__(self, data: bytes, chunk: int = 64 * 1024) -> None:
        self.data = data
        self.chunk = chunk
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            piece = self.data[start:start + self.chunk]
            self.pulled += len(piece)
            yield piece
