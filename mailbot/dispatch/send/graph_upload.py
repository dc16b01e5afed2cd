"""Mail too large for one Graph request: a draft from its MIME, its files uploaded in ranges.

Microsoft Graph refuses a request body over about 4 MB (HTTP 413), and `sendMail` carries the
whole message base64-encoded, a third larger than the message: anything past some 3 MB (a
meeting's minutes are often 20 MB) cannot go that way. Graph's documented route for such
mail is a draft plus attachments: files under 3 MB are POSTed to the draft as JSON, files of
3 to 150 MB through an attachment upload session (`createUploadSession`), whose pre-
authenticated `uploadUrl` takes the bytes in ranges of under 4 MB (`Content-Range`), answers
each with the next expected range, and the last with 201 Created. The draft is then sent.

`split` takes the message's files out of its MIME, largest first, until what is left (the
headers, the text, any small files) fits in one request; that remainder becomes the draft,
so the recipients, subject, Message-ID, X-Mailbot-* headers and text are what mailbot
wrote. Exchange re-renders the MIME it sends from the draft, so the bytes on the wire are
Exchange's, as for mail the team sends from Outlook. A file over 150 MB, or a message whose
text alone is too large for a request, cannot be sent through Graph and is refused here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

from mailbot.ingest.graph.client import GraphClient, GraphError

REQUEST_LIMIT = 4 * 1024 * 1024  # Graph refuses a larger request body with 413
# Room left in a request for the JSON around base64 content (names, types, ids).
_ENVELOPE_ROOM = 64 * 1024
SMALL_FILE = 3 * 1024 * 1024  # below this a file is POSTed whole (base64: under 4 MB)
MAX_FILE = 150 * 1024 * 1024  # the largest attachment Graph accepts, by upload session
RANGE_BYTES = 10 * 320 * 1024  # one PUT of an upload session: under 4 MB, 320 KiB steps


class TooLargeForGraph(ValueError):
    """The message cannot be sent through Graph at all (a file over 150 MB, or its text
    alone too large for one request): a permanent refusal."""


@dataclass(frozen=True)
class File:
    """One attachment taken out of the MIME, to be attached to the draft."""

    name: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class Split:
    skeleton: bytes  # the MIME without the files, CRLF line ends
    files: tuple[File, ...]  # in the order they are attached


def fits_one_request(wire: bytes) -> bool:
    """Whether the whole message, base64-encoded, fits in one Graph request body."""
    return _b64_len(len(wire)) <= REQUEST_LIMIT - _ENVELOPE_ROOM


def split(wire: bytes) -> Split:
    """The message's MIME with its files taken out, largest first, until the rest fits one
    request. TooLargeForGraph if a file is over MAX_FILE or the rest never fits."""
    message = BytesParser(policy=policy.SMTP).parsebytes(wire)
    assert isinstance(message, EmailMessage)
    candidates = sorted(_files(message), key=lambda pair: -len(_content(pair[1])))
    taken: list[tuple[Message, Message]] = []
    skeleton = wire
    for parent, part in candidates:
        if fits_one_request(skeleton):
            break
        payload = parent.get_payload()
        assert isinstance(payload, list)
        payload.remove(part)
        taken.append((parent, part))
        skeleton = message.as_bytes(policy=policy.SMTP)
    if not fits_one_request(skeleton):
        raise TooLargeForGraph(
            "the message is too large for Microsoft Graph even without its attachments"
        )
    files = tuple(_file(part, n) for n, (_, part) in enumerate(taken, start=1))
    for file in files:
        if len(file.data) > MAX_FILE:
            raise TooLargeForGraph(
                "an attachment is larger than the 150 MB Microsoft Graph accepts"
            )
    return Split(skeleton=skeleton, files=files)


def attach(client: GraphClient, message_path: str, file: File) -> None:
    """Attach `file` to the draft at `message_path` (users/{id}/messages/{id}): one POST
    under SMALL_FILE, an upload session above it."""
    item: dict[str, Any] = {
        "name": file.name,
        "contentType": file.content_type,
        "isInline": file.inline,
    }
    if file.content_id:
        item["contentId"] = file.content_id
    if len(file.data) < SMALL_FILE:
        client.json(
            "attaching a file",
            "POST",
            f"{message_path}/attachments",
            json={
                "@odata.type": "#microsoft.graph.fileAttachment",
                **item,
                "contentBytes": base64.b64encode(file.data).decode("ascii"),
            },
        )
        return
    session = client.json(
        "starting an attachment upload",
        "POST",
        f"{message_path}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "size": len(file.data), **item}},
    )
    url = session.get("uploadUrl")
    if not isinstance(url, str) or not url:
        raise GraphError("Graph: starting an attachment upload failed: no upload URL returned")
    _upload(client, url, file.data, _next_start(session, 0))


def _upload(client: GraphClient, url: str, data: bytes, start: int) -> None:
    """PUT `data` in ranges from `start` until Graph answers 201 Created (the last range)."""
    total = len(data)
    for _ in range(total // RANGE_BYTES + 3):  # a server repeating itself cannot hold us here
        end = min(start + RANGE_BYTES, total)
        response = client.upload(
            "uploading an attachment",
            url,
            content=data[start:end],
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"bytes {start}-{end - 1}/{total}",
            },
        )
        if response.status_code == 201:
            return
        body = response.json() if response.content else {}
        start = _next_start(body if isinstance(body, dict) else {}, end)
        if start >= total:
            raise GraphError(
                "Graph: uploading an attachment failed: every byte was sent but "
                "the upload did not complete"
            )
    raise GraphError("Graph: uploading an attachment failed: the upload did not advance")


def _next_start(session: dict[str, Any], default: int) -> int:
    """The first byte Graph expects next (`nextExpectedRanges`: ["2097152"] or ["0-"])."""
    ranges = session.get("nextExpectedRanges")
    if isinstance(ranges, list) and ranges and isinstance(ranges[0], str):
        first = ranges[0].split("-", 1)[0]
        if first.isdigit():
            return int(first)
    return default


def message_path(user: str, ref: str) -> str:
    return f"{user}/messages/{quote(ref, safe='')}"


def _files(message: Message) -> Iterable[tuple[Message, Message]]:
    """(parent multipart, part) for every leaf part that is a file (named or an attachment);
    the message's own text body is never one."""
    stack: list[Message] = [message]
    while stack:
        parent = stack.pop()
        payload = parent.get_payload()
        if not parent.is_multipart() or not isinstance(payload, list):
            continue
        for part in payload:
            if not isinstance(part, Message):
                continue
            if part.is_multipart():
                stack.append(part)
            elif part.get_filename() or part.get_content_disposition() == "attachment":
                yield parent, part


def _file(part: Message, n: int) -> File:
    content_id = part.get("Content-ID")
    cid = str(content_id).strip().strip("<>") if content_id else None
    return File(
        name=part.get_filename() or f"attachment-{n}",
        content_type=part.get_content_type(),
        data=_content(part),
        content_id=cid,
        inline=part.get_content_disposition() == "inline",
    )


def _content(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _b64_len(size: int) -> int:
    return 4 * ((size + 2) // 3)
