"""Delivery failure notices (bounces) for mail mailbot sent: matched to it, never referrals.

A relay that accepted an IDVA alert may still fail to deliver it, and says so later with a
delivery status notification to the referrals mailbox. Read as a referral it became a
"returned" case while the alert stayed "sent"; the team never heard. `read_bounce` says
whether an email is such a notice and which of mailbot's messages it reports on; it is pure
(bytes in, a value out, no I/O, no logging) and keeps codes only: the notice quotes the
recipient's address and the server's words, which are personal data and stay unread.
`record_bounce`, inside the caller's transaction, marks the outbox message failed with the
reason and enqueues a notice to the team, once however often the notice arrives.

Recognised: RFC 3464 reports (multipart/report; report-type=delivery-status, with the
original in a message/rfc822 or text/rfc822-headers part, as Postfix, Exim, Exchange and
Microsoft 365 send them; and the message/global forms of RFC 6533), and the older shapes
that are no report (qmail's "failure notice", Exim's "Mail delivery failed", gateways that
attach the original to a plain "Undeliverable:" message) when they come from a mailer daemon
or with an empty return path and say they are a delivery failure. The original is known by
its Message-ID (fixed when mailbot enqueued it, so every copy has it) and by the
X-Mailbot-Case and X-Mailbot-Kind headers mailbot writes. Only the first `MAX_BYTES` of a
notice are read: the report comes before any returned copy, whose headers come first.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

from mailbot.dispatch.outbox import Outbox, OutboxMessage
from mailbot.dispatch.plan import Planner
from mailbot.ingest.mime.bounds import too_costly

MAX_BYTES = 512 * 1024
_MAX_IDS = 20
_REPORT_TYPES = frozenset({"multipart/report"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_RETURNED_TYPES = frozenset({"message/rfc822", "message/global"})
_HEADERS_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
# Senders that are mail systems, not people: by the local part of the From address.
_DAEMON = re.compile(
    r"^(mailer-?daemon|postmaster|mail-?daemon|mail delivery (sub)?system"
    r"|microsoftexchange[0-9a-f]*)$",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (has )?failed"
    r"|mail delivery failed|failure notice|returned mail|delivery failure|non-?delivery"
    r"|could not be delivered|delivery report|returned to sender",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(r"\bdelay(ed)?\b|will retry|still trying", re.IGNORECASE)
_MSGID = re.compile(r"<[!-;=?-~]{1,250}@[A-Za-z0-9.-]{1,255}>")
_HEADER_LINE = re.compile(
    r"^(message-id|x-mailbot-case|x-mailbot-kind)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE
)
_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
_KIND = re.compile(r"[a-z_]{1,30}")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
# In a plain notice's words a reply code counts only where a status follows it ("550 5.1.1").
_SMTP_REPLY = re.compile(r"(?<![\d.])([45]\d\d)[ -]([45]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class Bounce:
    """What a delivery notice says, in codes: no address, no server text."""

    message_ids: tuple[str, ...]  # of the message(s) it reports on, as they came back
    cases: tuple[str, ...]  # X-Mailbot-Case of the returned message, if its headers came
    kinds: tuple[str, ...]  # X-Mailbot-Kind, likewise
    action: str  # 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded' | '' (unsaid)
    status: str  # RFC 3463 status, e.g. '5.1.1' ('' if none)
    smtp_code: str  # the reply code in the diagnostic, e.g. '550' ('' if none)
    standard: bool  # an RFC 3464 report (not recognised by its shape alone)

    @property
    def failed(self) -> bool:
        """The message was not delivered and will not be (a permanent failure)."""
        if self.action:
            return self.action == "failed"
        return self.status.startswith("5") or self.smtp_code.startswith("5")

    @property
    def reason(self) -> str:
        codes = " ".join(c for c in (self.smtp_code, self.status) if c)
        return f"returned by the recipient's mail system ({codes or 'no status given'})"


@dataclass(frozen=True)
class Recorded:
    """What `record_bounce` found and did."""

    matched: tuple[int, ...]  # outbox ids the notice is about
    failed: tuple[int, ...]  # of those, the ones it marked failed now (the team told)


def read_bounce(raw: bytes) -> Bounce | None:
    """The delivery notice `raw` is, or None when it is no delivery notice."""
    head = raw[:MAX_BYTES]
    if too_costly(head):
        return None
    try:
        msg = BytesParser(_Message, policy=policy.compat32).parsebytes(head)
    except Exception:  # the parser is lenient; pathological nesting still blows its stack
        return None
    standard = _is_report(msg)
    if not standard and not _looks_like_bounce(msg):
        return None
    reports: list[dict[str, str]] = []
    returned: list[Message] = []
    texts: list[str] = []
    for part in _parts(msg):
        ctype = part.get_content_type().lower()
        if ctype in _STATUS_TYPES:
            reports += _status_fields(part)
        elif ctype in _RETURNED_TYPES:
            returned += _returned_message(part)
        elif ctype in _HEADERS_TYPES:
            returned.append(HeaderParser().parsestr(_text(part)))
        elif ctype.startswith("text/") and not standard:
            texts.append(_text(part))
    ids, cases, kinds = _originals(returned, texts, own=str(msg.get("Message-ID", "")))
    action, status, code = _outcome(reports, texts, str(msg.get("Subject", "")))
    return Bounce(
        message_ids=ids,
        cases=cases,
        kinds=kinds,
        action=action,
        status=status,
        smtp_code=code,
        standard=standard,
    )


def record_bounce(
    conn: sqlite3.Connection, outbox: Outbox, planner: Planner, bounce: Bounce, now: datetime
) -> Recorded:
    """Inside the caller's transaction: mark the outbox messages `bounce` reports as failed
    (with the reason), audit it, and enqueue one notice to the team for each. A notice
    arriving again, or about mail already failed or dismissed, changes nothing; a delay
    notice (the relay still tries) only matches."""
    if not bounce.message_ids:
        return Recorded((), ())
    marks = ", ".join("?" * len(bounce.message_ids))
    cursor = conn.execute(
        f"SELECT * FROM outbox WHERE message_id IN ({marks})"  # noqa: S608
        " ORDER BY id",
        bounce.message_ids,
    )
    keys = [column[0] for column in cursor.description]
    rows = [OutboxMessage(**dict(zip(keys, row, strict=True))) for row in cursor]
    failed = []
    for row in rows:
        if not bounce.failed or row.state in ("failed", "dismissed"):
            continue
        conn.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?",
            (bounce.reason, row.id),
        )
        outbox.store.audit(
            conn,
            "mailbot",
            "send_bounced",
            row.reference,
            f"kind={row.kind} outbox={row.id}"
            f" status={bounce.status or '-'} code={bounce.smtp_code or '-'}",
        )
        if row.kind != "team_notice":  # a notice about a notice would only bounce again
            outbox.enqueue(
                conn,
                planner.team_notice(
                    "a message was returned undelivered",
                    f"The {row.kind} message to {row.recipient} (outbox {row.id}) was"
                    f" {bounce.reason}: it did not arrive. Check the address and send it by"
                    f" another route, or `mailbot outbox retry {row.id}` once it is fixed.",
                    row.reference,
                    variant=f"bounced-{row.id}",
                ),
                row.reference,
                now,
            )
        failed.append(row.id)
    return Recorded(tuple(r.id for r in rows), tuple(failed))


class _Message(Message):
    """A message whose encoded message/rfc822 parts stay one leaf while parsed (gateways send
    the original base64-encoded), so their headers are read from the decoded body."""

    def get_content_maintype(self) -> str:
        maintype = super().get_content_maintype()
        encoding = str(self.get("Content-Transfer-Encoding", "")).strip().lower()
        encoded = encoding in ("base64", "quoted-printable")
        return "application" if maintype == "message" and encoded else maintype


def _is_report(msg: Message) -> bool:
    if msg.get_content_type().lower() not in _REPORT_TYPES:
        return False
    return str(msg.get_param("report-type", "")).lower() in (
        "delivery-status",
        "global-delivery-status",
    )


def _looks_like_bounce(msg: Message) -> bool:
    """No report, but from a mail system (or an empty return path) about a failed delivery."""
    sender = str(msg.get("From", ""))
    local = sender.rpartition("<")[2].partition("@")[0].strip().strip('"')
    name = sender.partition("<")[0].strip().strip('"')
    from_daemon = bool(_DAEMON.match(local) or _DAEMON.match(name))
    null_path = str(msg.get("Return-Path", "")).strip() == "<>"
    subject = str(msg.get("Subject", ""))
    return (from_daemon or null_path) and bool(_BOUNCE_SUBJECT.search(subject))


def _parts(msg: Message) -> list[Message]:
    """The parts to read: a report's own, or a plain notice's, not the returned message's."""
    found: list[Message] = []
    stack = [msg]
    while stack and len(found) < 64:
        part = stack.pop(0)
        ctype = part.get_content_type().lower()
        if part.is_multipart() and ctype.startswith("multipart/"):
            stack.extend(p for p in part.get_payload() if isinstance(p, Message))
        else:
            found.append(part)
    return found


def _status_fields(part: Message) -> list[dict[str, str]]:
    """The per-recipient fields of a delivery-status part (its blocks after the first)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [p for p in payload if isinstance(p, Message)]
    else:  # sent with a transfer encoding the parser did not look inside
        text = _text(part)
        blocks = [HeaderParser().parsestr(b) for b in re.split(r"\r?\n\s*\r?\n", text) if b.strip()]
    recipients = blocks[1:] or blocks
    return [{key.lower(): str(value) for key, value in block.items()} for block in recipients]


def _returned_message(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)][:1]
    return [HeaderParser().parsestr(_text(part))]  # encoded: decoded, headers read


def _text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return data[:MAX_BYTES].decode("utf-8", "replace")


def _originals(
    returned: list[Message], texts: list[str], own: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(Message-IDs, cases, kinds) of the returned message: from its headers when they came
    back as a part, else from header lines quoted in a plain notice."""
    pairs = [
        (str(k).lower(), str(v))
        for m in returned
        for k, v in m.items()
        if str(k).lower() in ("message-id", "x-mailbot-case", "x-mailbot-kind")
    ]
    if not pairs:
        pairs = [
            (m.group(1).lower(), m.group(2)) for text in texts for m in _HEADER_LINE.finditer(text)
        ]
    ids = [_message_id(v) for k, v in pairs if k == "message-id"]
    own_id = _message_id(own)
    cases = [v.strip() for k, v in pairs if k == "x-mailbot-case" and _CASE.fullmatch(v.strip())]
    kinds = [v.strip() for k, v in pairs if k == "x-mailbot-kind" and _KIND.fullmatch(v.strip())]
    return (_unique(i for i in ids if i and i != own_id), _unique(cases), _unique(kinds))


def _outcome(reports: list[dict[str, str]], texts: list[str], subject: str) -> tuple[str, str, str]:
    """(action, status, smtp code): from the report's first failed recipient (else its
    first), or for a plain notice from the codes in its text and the words of its subject."""
    if reports:
        chosen = next(
            (r for r in reports if r.get("action", "").strip().lower() == "failed"), reports[0]
        )
        action = chosen.get("action", "").strip().lower()
        status = _STATUS.search(chosen.get("status", ""))
        diagnostic = chosen.get("diagnostic-code", "").partition(";")[2]
        code = _SMTP_CODE.search(diagnostic)
        return (
            action if action in _ACTIONS else "",
            status.group(1) if status else "",
            code.group(1) if code else "",
        )
    text = "\n".join(texts)
    reply = _SMTP_REPLY.search(text)
    anywhere = _STATUS.search(text)
    found = reply.group(2) if reply else anywhere.group(1) if anywhere else ""
    delayed = _DELAY_SUBJECT.search(subject) or found.startswith("4")
    return ("delayed" if delayed else "failed", found, reply.group(1) if reply else "")


def _message_id(value: str) -> str:
    match = _MSGID.search("".join(value.split()))
    if match is None:
        return ""
    local, _, domain = match.group(0)[1:-1].rpartition("@")
    return f"<{local}@{domain.lower()}>"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))[:_MAX_IDS]
