"""Microsoft Graph and Entra at the HTTP boundary, for the Graph backend's tests.

respx answers every httpx request, the real MSAL included: the tenant's OpenID
configuration and the token endpoint are mocked like the rest, so no test reaches the
network. Replies are the JSON files under tests/data/graph (shaped like Graph's documented
ones). Time is a `FakeTime`, so back-off and polling are recorded instead of slept.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import respx

from mailbot.config.mail import GraphMailboxSettings
from mailbot.ingest.graph.mailbox import GraphMailbox
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
    values: dict[str, Any] = {
        "kind": "graph",
        "address": MAILBOX,
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        **overrides,
    }
    return GraphMailboxSettings.model_validate(values)


def mock_login(
    router: respx.MockRouter, answer: str = "token.json", status: int = 200
) -> respx.Route:
    """Entra's discovery documents and the tenant's token endpoint; returns the token route."""
    router.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
        json=reply("openid-configuration.json")
    )
    router.get("https://login.microsoftonline.com/common/discovery/instance").respond(
        json=reply("instance-discovery.json")
    )  # MSAL asks this after a refusal
    return router.post(f"{LOGIN}/oauth2/v2.0/token").respond(status, json=reply(answer))


def mock_delta_round(router: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """The two pages of the documented first round: (first page, second page) routes."""
    second = router.get(path__regex=DELTA_PATH, params={"$skiptoken": SKIP_TOKEN}).respond(
        json=reply("delta-page-2.json")
    )
    first = router.get(f"{USER}/mailFolders/inbox/messages/delta").respond(
        json=reply("delta-page-1.json")
    )
    return first, second


def mock_value(router: respx.MockRouter, ref: str, raw: bytes) -> respx.Route:
    """The message `ref`: its size (asked first) and its MIME (`$value`)."""
    mock_item(router, ref, len(raw))
    return router.get(f"{USER}/messages/{ref}/$value").respond(
        200, content=raw, headers={"Content-Type": "message/rfc822"}
    )


def mock_item(
    router: respx.MockRouter, ref: str, size: int | None, headers: Sequence[tuple[str, str]] = ()
) -> respx.Route:
    """GET of message `ref` as Graph answers it: with PidTagMessageSize when the extended
    property is expanded (Graph writes the tag in its short form), with
    internetMessageHeaders when those are selected."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "internetMessageHeaders" in params.get("$select", ""):
            return httpx.Response(
                200,
                json={
                    "id": ref,
                    "internetMessageHeaders": [
                        {"name": name, "value": value} for name, value in headers
                    ],
                },
            )
        props = [] if size is None else [{"id": "Integer 0xe08", "value": str(size)}]
        return httpx.Response(200, json={"id": ref, "singleValueExtendedProperties": props})

    return router.get(f"{USER}/messages/{ref}").mock(side_effect=answer)


def open_mailbox(
    store: Store, time: FakeTime, *, max_bytes: int | None = None, **overrides: Any
) -> GraphMailbox:
    """A mailbox with the real MSAL and transport (mocked by respx) on fake time."""
    if max_bytes is None:
        return GraphMailbox(
            settings(**overrides), SECRETS, store, sleep=time.sleep, clock=time.clock
        )
    return GraphMailbox(
        settings(**overrides),
        SECRETS,
        store,
        sleep=time.sleep,
        clock=time.clock,
        max_bytes=max_bytes,
    )


class Chunks(httpx.SyncByteStream):
    """A streamed body of `size` bytes in 64 KB chunks, counting what was pulled."""

    def __init__(self, data: bytes, chunk: int = 64 * 1024) -> None:
        self.data = data
        self.chunk = chunk
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            piece = self.data[start : start + self.chunk]
            self.pulled += len(piece)
            yield piece


# -- sending: sendMail, drafts, attachments and upload sessions ------------------------------

REQUEST_LIMIT = 4 * 1024 * 1024  # Graph's limit on a request body ("maximum request length")
OUTLOOK = "https://outlook.office.com/api/v2.0"
UPLOAD_PATH = r"/api/v2\.0/Users\('[^']+'\)/Messages\('([^']+)'\)/AttachmentSessions\('([^']+)'\)"
TOO_LARGE = {
    "error": {
        "code": "RequestEntityTooLarge",
        "message": "The maximum request length supported is 4MB.",
        "innerError": {
            "date": "2026-11-02T09:00:00",
            "request-id": "0c2e7f5a-1b3d-4e6f-8a9b-0c1d2e3f4a5b",
        },
    }
}
NOT_FOUND = {
    "error": {
        "code": "ErrorItemNotFound",
        "message": "The specified object was not found in the store.",
    }
}


@dataclass
class Item:
    """A message in the fake mailbox: a draft, or sent (in Sent Items)."""

    ref: str
    mime: bytes
    internet_message_id: str | None
    draft: bool
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass
class _Session:
    ref: str
    name: str
    content_type: str
    size: int
    received: bytearray = field(default_factory=bytearray)


class GraphMail:
    """Graph's mail-sending endpoints over respx, refusing what Graph refuses: any request
    body over 4 MB is a 413, an upload range PUT carrying an Authorization header or out of
    order is refused, a draft already sent cannot be sent again (404). `lose` names the
    operations ("sendMail", "draft", "send", "upload") whose reply is dropped after the work
    is done, as a lost connection would. With `keeps_message_id` False a draft made from
    MIME gets an id of Exchange's own (it can be set while a draft: PATCH)."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.keeps_message_id = True
        self.items: dict[str, Item] = {}
        self.sent: list[Item] = []
        self.lose: set[str] = set()
        self.bodies: list[int] = []  # the size of every request body Graph received
        self._sessions: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        router.post(f"{USER}/sendMail").mock(side_effect=self._send_mail)
        router.get(f"{USER}/messages").mock(side_effect=self._find)
        router.post(f"{USER}/messages").mock(side_effect=self._draft)
        router.route(method="PATCH", url__regex=rf"{re.escape(USER)}/messages/[^/]+$").mock(
            side_effect=self._patch
        )
        router.post(url__regex=rf"{re.escape(USER)}/messages/[^/]+/attachments$").mock(
            side_effect=self._attach
        )
        router.get(url__regex=rf"{re.escape(USER)}/messages/[^/]+/attachments(\?.*)?$").mock(
            side_effect=self._attachments
        )
        router.post(
            url__regex=rf"{re.escape(USER)}/messages/[^/]+/attachments/"
            r"createUploadSession$"
        ).mock(side_effect=self._session)
        router.put(host="outlook.office.com", path__regex=UPLOAD_PATH).mock(
            side_effect=self._upload
        )
        router.post(url__regex=rf"{re.escape(USER)}/messages/[^/]+/send$").mock(
            side_effect=self._send
        )

    def whole(self, item: Item) -> EmailMessage:
        """A sent item as its recipients get it: the draft's MIME with its files attached."""
        message = BytesParser(policy=policy.default).parsebytes(item.mime)
        assert isinstance(message, EmailMessage)
        for name, content_type, data in item.attachments:
            maintype, _, subtype = content_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return message

    def _received(self, request: httpx.Request) -> httpx.Response | None:
        self.bodies.append(len(request.content))
        if len(request.content) > REQUEST_LIMIT:
            return httpx.Response(413, json=TOO_LARGE)
        return None

    def _answer(self, operation: str, response: httpx.Response) -> httpx.Response:
        if operation in self.lose:
            raise httpx.ReadTimeout("the reply was lost", request=None)
        return response

    def _new(self, mime: bytes, *, draft: bool) -> Item:
        ref = f"AAMkAGI2TG93AAA{next(self._ids):04d}="
        parsed = BytesHeaderParser(policy=compat32).parsebytes(mime).get("Message-ID")
        item = Item(ref, mime, " ".join(str(parsed).split()) if parsed else None, draft)
        self.items[ref] = item
        return item

    def _mime(self, request: httpx.Request) -> bytes | httpx.Response:
        if request.headers.get("Content-Type") != "text/plain":
            return httpx.Response(415, json={"error": {"code": "UnsupportedMediaType"}})
        try:
            return base64.b64decode(request.content, validate=True)
        except ValueError:
            return httpx.Response(400, json=reply("invalid-mime.json"))

    def _send_mail(self, request: httpx.Request) -> httpx.Response:
        refused = self._received(request)
        if refused is not None:
            return refused
        mime = self._mime(request)
        if isinstance(mime, httpx.Response):
            return mime
        self.sent.append(self._new(mime, draft=False))
        return self._answer("sendMail", httpx.Response(202))

    def _find(self, request: httpx.Request) -> httpx.Response:
        wanted = re.fullmatch(r"internetMessageId eq '(.*)'", request.url.params.get("$filter", ""))
        assert wanted is not None, "only the lookup by internetMessageId is modelled"
        value = wanted[1].replace("''", "'")
        return httpx.Response(
            200,
            json={
                "value": [
                    {"id": item.ref, "isDraft": item.draft}
                    for item in self.items.values()
                    if item.internet_message_id == value
                ]
            },
        )

    def _draft(self, request: httpx.Request) -> httpx.Response:
        refused = self._received(request)
        if refused is not None:
            return refused
        mime = self._mime(request)
        if isinstance(mime, httpx.Response):
            return mime
        item = self._new(mime, draft=True)
        if not self.keeps_message_id:
            item.internet_message_id = f"<{item.ref}@GBR01.PROD.OUTLOOK.COM>"
        return self._answer(
            "draft",
            httpx.Response(
                201,
                json={
                    "id": item.ref,
                    "internetMessageId": item.internet_message_id,
                    "isDraft": True,
                },
            ),
        )

    def _item(self, request: httpx.Request) -> Item | None:
        ref = unquote(request.url.path.split("/messages/")[1].split("/")[0])
        return self.items.get(ref)

    def _patch(self, request: httpx.Request) -> httpx.Response:
        item = self._item(request)
        if item is None or not item.draft:
            return httpx.Response(404, json=NOT_FOUND)
        item.internet_message_id = json.loads(request.content)["internetMessageId"]
        return httpx.Response(200, json={"id": item.ref, "isDraft": True})

    def _attach(self, request: httpx.Request) -> httpx.Response:
        refused = self._received(request)
        if refused is not None:
            return refused
        item = self._item(request)
        if item is None or not item.draft:
            return httpx.Response(404, json=NOT_FOUND)
        body = json.loads(request.content)
        item.attachments.append(
            (body["name"], body["contentType"], base64.b64decode(body["contentBytes"]))
        )
        return httpx.Response(
            201, json={"id": f"att-{len(item.attachments)}", "name": body["name"]}
        )

    def _attachments(self, request: httpx.Request) -> httpx.Response:
        item = self._item(request)
        if item is None:
            return httpx.Response(404, json=NOT_FOUND)
        return httpx.Response(
            200,
            json={
                "value": [
                    {"id": f"att-{n}", "name": name, "size": len(data)}
                    for n, (name, _, data) in enumerate(item.attachments, start=1)
                ]
            },
        )

    def _session(self, request: httpx.Request) -> httpx.Response:
        item = self._item(request)
        if item is None or not item.draft:
            return httpx.Response(404, json=NOT_FOUND)
        attachment = json.loads(request.content)["AttachmentItem"]
        if attachment["size"] > 150 * 1024 * 1024:
            return httpx.Response(413, json=TOO_LARGE)
        session = f"AAMkAGI2SES{next(self._ids):04d}="
        self._sessions[session] = _Session(
            item.ref, attachment["name"], attachment["contentType"], attachment["size"]
        )
        return httpx.Response(
            201,
            json={
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                "#microsoft.graph.uploadSession",
                "uploadUrl": f"{OUTLOOK}/Users('a8e8e219-4931-95c1-b73d-62626fd79c32@{TENANT}')"
                f"/Messages('{item.ref}')/AttachmentSessions('{session}')"
                "?authtoken=eyJhbGciOiJSUzI1NiIsImtpZCI6IktmYUNIUlN6bllHMmNI",
                "expirationDateTime": "2026-11-02T10:09:30.7671707Z",
                "nextExpectedRanges": ["0-"],
            },
        )

    def _upload(self, request: httpx.Request) -> httpx.Response:
        if "Authorization" in request.headers:
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})
        refused = self._received(request)
        if refused is not None:
            return refused
        found = re.search(UPLOAD_PATH, request.url.path)
        assert found is not None
        session = self._sessions[found[2]]
        span = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers["Content-Range"])
        assert span is not None
        start, end, total = (int(n) for n in span.groups())
        if (
            start != len(session.received)
            or total != session.size
            or end - start + 1 != len(request.content)
        ):
            return httpx.Response(416, json={"error": {"code": "InvalidRange"}})
        session.received += request.content
        if len(session.received) < session.size:
            return httpx.Response(
                200,
                json={
                    "expirationDateTime": "2026-11-02T10:09:30.7671707Z",
                    "nextExpectedRanges": [str(len(session.received))],
                },
            )
        item = self.items[session.ref]
        item.attachments.append((session.name, session.content_type, bytes(session.received)))
        return self._answer(
            "upload",
            httpx.Response(
                201,
                headers={
                    "Location": f"{OUTLOOK}/Users('x')/Messages('{item.ref}')/Attachments('att')"
                },
            ),
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        item = self._item(request)
        if item is None or not item.draft:
            return httpx.Response(404, json=NOT_FOUND)
        item.draft = False
        self.sent.append(item)
        return self._answer("send", httpx.Response(202))
