"""Turn raw email bytes into a `ParsedEmail`: headers, a short body text, and the attachments.

Referrals arrive from every kind of mail system: Outlook wraps files in winmail.dat, people
forward the referrer's email instead of re-attaching the form (as a MIME part, encoded or
not, or as an Outlook item, `msg`), signatures add logos, secure gateways add S/MIME
signatures or wrap the whole message in one (`smime`). The form must be found wherever it
is, and decoys (logos, signatures) must not be mistaken for it. The input is hostile, so this
never raises and never logs: whatever cannot be read falls back to an empty value, and
anything past a `DocumentLimits` bound, or past what `mimebounds` lets the parser spend,
becomes a marker attachment the pipeline reports as `unreadable_document`, except files past
`max_attachments`, which set `ParsedEmail.truncated` (the pipeline holds those emails).
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser

from mailbot.ingest.document.sniff import classify
from mailbot.ingest.mime import headers, lean
from mailbot.ingest.mime.bounds import MAX_PARTS, HeaderBudget, header_block, too_costly
from mailbot.ingest.mime.msg import OutlookItem, outlook_item
from mailbot.ingest.mime.smime import is_pkcs7, signed_content
from mailbot.ingest.mime.tnef import TNEF_MAGIC, tnef_files
from mailbot.models import Attachment, DocKind, DocumentLimits, ParsedEmail

# The content type of a marker attachment (empty `data`, so kind EMPTY) standing for what is
# past a limit: an attachment over max_attachment_bytes; a whole email over max_email_bytes, too
# costly to parse (`mimebounds`) or too deeply nested for the parser (then the only
# attachment); a forwarded email or winmail.dat nested deeper than max_nesting; multiparts
# nested deeper than _MAX_MULTIPART_DEPTH, more than MAX_PARTS parts, or a header value left
# unparsed (then one marker after what was found); and a wrapper that cannot be opened: an
# encrypted or damaged S/MIME message, an Outlook item olefile cannot read, or an item's
# attachment that is only a link. The pipeline reports it as `unreadable_document`: never
# `no_attachment` or `not_word_document` for a form that was not looked for.
OVERSIZED_CONTENT_TYPE = "application/x-mailbot-oversized"

BODY_TEXT_LIMIT = 64 * 1024
_SMALL_IMAGE_BYTES = 32 * 1024  # logos and signature images are smaller than any scanned form
_MAX_MULTIPART_DEPTH = 64
_NOT_A_DOCUMENT = frozenset({DocKind.OTHER, DocKind.EMPTY})
_SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature"})
_SMIME_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_OUTLOOK_TYPES = frozenset({"application/vnd.ms-outlook", "application/x-msg"})
# Forwarded emails as MIME parts; any other message/* type is kept as the file it is.
_EMAIL_TYPES = frozenset({"message/rfc822", "message/global"})
_ENCODINGS = frozenset({"base64", "quoted-printable"})
_EMAIL_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "received", "content-type"}
)
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)


def parse_email(raw: bytes, limits: DocumentLimits) -> ParsedEmail:
    """Parse one email. Never raises; see `OVERSIZED_CONTENT_TYPE` for what limits produce."""
    msg, readable, budget, parser = _parse(raw, limits)
    walker = _Walker(limits, parser)
    if readable:
        walker.walk(msg, nesting=0, multipart_depth=0)
    parsed = ParsedEmail(
        message_id=headers.msgid(headers.header(msg, "Message-ID", decode=False))
        or headers.synthetic_msgid(raw),
        sender=headers.sender(msg),
        subject=headers.header(msg, "Subject"),
        sent_at=headers.sent_at(msg),
        in_reply_to=headers.msgid(headers.header(msg, "In-Reply-To", decode=False)) or None,
        automatic=headers.automatic(msg),
        body_text=_body_text(msg) if readable else "",
    )
    # Only now is the budget final: reading the headers and the body above spends it too.
    if not readable or walker.past_limit or budget.exceeded:
        walker.add(_marker(None))
    return parsed.model_copy(
        update={"attachments": tuple(walker.out), "truncated": walker.truncated}
    )


def _parse(
    raw: bytes, limits: DocumentLimits
) -> tuple[EmailMessage, bool, HeaderBudget, BytesParser[EmailMessage]]:
    """(the message, whether it was parsed whole, its header budget, its parser).

    A large email is parsed with its long base64 bodies lifted out (`lean`), which gives the
    same message at a fraction of the memory; when that does not apply, the whole email."""
    lifted = lean.lift(raw) if len(raw) <= limits.max_email_bytes else None
    if lifted is not None and not too_costly(lifted.skeleton):
        budget = HeaderBudget()
        parser = BytesParser(_Message, policy=budget.policy)
        try:
            msg = parser.parsebytes(lifted.skeleton)
            if lean.restore(lifted, raw, msg):
                return msg, True, budget, parser
        except Exception:  # noqa: S110 - parsed whole below, where failures are handled
            pass
    budget = HeaderBudget()  # one per email: every header fetched from it spends it
    parser = BytesParser(_Message, policy=budget.policy)
    readable = len(raw) <= limits.max_email_bytes and not too_costly(raw)
    try:
        msg = parser.parsebytes(raw if readable else header_block(raw), headersonly=not readable)
    except Exception:  # the parser is lenient, but pathological nesting still blows its stack
        readable = False
        try:
            msg = parser.parsebytes(header_block(raw), headersonly=True)
        except Exception:
            msg = EmailMessage(policy=policy.default)
    return msg, readable, budget, parser


class _Message(EmailMessage):
    """An `EmailMessage` whose parse leaves an encoded forwarded email as one encoded part.

    RFC 2046 allows only 7bit, 8bit and binary for message/rfc822, but mail systems forward
    emails base64- or quoted-printable-encoded (and RFC 6532 allows that for message/global).
    The parser would take the encoded text for the inner email's headers and body and find
    nothing in it. Asked for this part's main type while parsing, this answers "application",
    so the part stays a leaf with its body as sent; `_Walker.file` decodes that and parses it
    as the email it is."""

    def get_content_maintype(self) -> str:
        maintype = super().get_content_maintype()
        if maintype != "message" or self.get_content_type() not in _EMAIL_TYPES:
            return maintype
        try:
            encoding = str(self.get("Content-Transfer-Encoding", "")).strip().lower()
        except Exception:  # an unparseable encoding: the parser's own reading stands
            return maintype
        return "application" if encoding in _ENCODINGS else maintype


def is_oversized(attachment: Attachment) -> bool:
    """True for a marker attachment standing for something past a `DocumentLimits` bound."""
    return attachment.content_type == OVERSIZED_CONTENT_TYPE


class _Walker:
    """Collects attachments depth-first, in the order a mail client would show them."""

    def __init__(self, limits: DocumentLimits, parser: BytesParser[EmailMessage]) -> None:
        self.limits = limits
        self.parser = parser  # for forwarded emails sent as files: same policy, same budget
        self.out: list[Attachment] = []
        self.visited = 0
        self.past_limit = False  # some part was not looked at: parse_email adds a marker
        self.truncated = False  # a file past max_attachments was found: nothing more is

    def enter(self, multipart_depth: int = 0) -> bool:
        """Whether one more part may be visited (and count it)."""
        if self.truncated:
            return False
        if self.visited >= MAX_PARTS or multipart_depth > _MAX_MULTIPART_DEPTH:
            self.past_limit = True
            return False
        self.visited += 1
        return True

    def add(self, attachment: Attachment) -> None:
        if len(self.out) < self.limits.max_attachments:
            self.out.append(attachment)
        else:
            self.truncated = True

    def walk(
        self, part: Message, nesting: int, multipart_depth: int, related: bool = False
    ) -> None:
        if not self.enter(multipart_depth):
            return
        try:
            ctype = part.get_content_type().lower()
            if part.is_multipart() and ctype.startswith("message/"):  # a forwarded email
                if nesting >= self.limits.max_nesting:
                    self.add(_marker(headers.filename(part)))
                else:
                    for inner in _children(part):
                        self.walk(inner, nesting + 1, 0)
            elif part.is_multipart():
                inner_related = ctype == "multipart/related"
                for child in _children(part):
                    self.walk(child, nesting, multipart_depth + 1, inner_related)
            else:
                self.leaf(part, ctype, nesting, related)
        except Exception:  # noqa: S110 - one unreadable part must not hide the others
            pass

    def leaf(self, part: Message, ctype: str, nesting: int, related: bool) -> None:
        filename = headers.filename(part)
        if ctype in _SIGNATURE_TYPES or (filename or "").lower().endswith(".p7s"):
            return  # an S/MIME signature, however it is labelled
        disposition = (part.get_content_disposition() or "").lower()
        if ctype.startswith("text/") and not filename and disposition != "attachment":
            return  # a body, not an attachment
        data = _data(part)
        if len(data) > self.limits.max_attachment_bytes:
            self.add(_marker(filename))
            return
        kind = classify(data)
        if _is_decoration(part, kind, disposition, related):
            return
        self.file(filename, ctype, data, kind, nesting)

    def file(
        self, filename: str | None, ctype: str, data: bytes, kind: DocKind, nesting: int
    ) -> None:
        """Add one file, or descend into it when it really wraps others: a winmail.dat, an
        email, an Outlook item or an S/MIME message (each counts as one level of nesting)."""
        wrapper = _wrapper(filename, ctype, data, kind)
        if wrapper is None:
            self.add(Attachment(filename=filename, content_type=ctype, data=data, kind=kind))
        elif nesting >= self.limits.max_nesting:
            self.add(_marker(filename))
        elif wrapper == "tnef":
            self.tnef(filename, ctype, data, nesting)
        elif wrapper == "outlook":
            self.outlook(filename, data, nesting)
        elif wrapper == "smime":
            self.smime(filename, data, nesting)
        else:
            self.entity(filename, data, nesting)

    def entity(self, filename: str | None, data: bytes, nesting: int) -> None:
        """Walk a MIME entity sent as a file: a forwarded email, or what S/MIME wrapped."""
        if too_costly(data):
            self.add(_marker(filename))
            return
        try:
            inner = self.parser.parsebytes(data)
        except Exception:  # nested past the parser's stack
            self.add(_marker(filename))
            return
        self.walk(inner, nesting + 1, 0)

    def smime(self, filename: str | None, data: bytes, nesting: int) -> None:
        # Outlook keeps a message signed in the clear (multipart/signed) as a smime.p7m file
        # holding its MIME text; every other S/MIME file is PKCS#7.
        content = signed_content(data) if is_pkcs7(data) else data if _is_mime(data) else None
        if content is None:  # encrypted, signed without its content, or damaged
            self.add(_marker(filename))
        elif _is_mime(content):
            self.entity(filename, content, nesting)
        else:  # a file signed as it is, not as a MIME entity
            self.file(filename, "application/octet-stream", content, classify(content), nesting + 1)

    def outlook(self, filename: str | None, data: bytes, nesting: int) -> None:
        try:
            with outlook_item(data) as item:
                self.item(item, nesting)
        except Exception:  # unreadable after all: what was found in it so far stays
            self.add(_marker(filename))

    def item(self, item: OutlookItem, nesting: int) -> None:
        """The attachments of an Outlook item; a message embedded in it is one level down."""
        for name, content in item.attachments():
            if not self.enter():
                return
            if isinstance(content, OutlookItem):
                if nesting + 1 >= self.limits.max_nesting:
                    self.add(_marker(name))
                else:
                    self.item(content, nesting + 1)
            elif content is None or len(content) > self.limits.max_attachment_bytes:
                self.add(_marker(name))
            else:
                self.file(name, "application/octet-stream", content, classify(content), nesting + 1)

    def tnef(self, filename: str | None, ctype: str, data: bytes, nesting: int) -> None:
        try:
            files = tnef_files(data)
        except Exception:  # not really TNEF after all: keep it as the file it claims to be
            self.add(
                Attachment(filename=filename, content_type=ctype, data=data, kind=classify(data))
            )
            return
        for name, inner in files:
            if not self.enter():
                return
            if len(inner) > self.limits.max_attachment_bytes:
                self.add(_marker(name))
            else:
                self.file(name, "application/octet-stream", inner, classify(inner), nesting + 1)


def _data(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _is_decoration(part: Message, kind: DocKind, disposition: str, related: bool) -> bool:
    """Logos, signature images and inline pictures: never a referral form."""
    declared_image = part.get_content_maintype() == "image" and kind in _NOT_A_DOCUMENT
    if kind is not DocKind.IMAGE and not declared_image:
        return False
    cid_image = related and "Content-ID" in part
    return disposition == "inline" or cid_image or len(_data(part)) < _SMALL_IMAGE_BYTES


def _marker(filename: str | None) -> Attachment:
    return Attachment(
        filename=filename, content_type=OVERSIZED_CONTENT_TYPE, data=b"", kind=classify(b"")
    )


def _wrapper(filename: str | None, ctype: str, data: bytes, kind: DocKind) -> str | None:
    """What kind of wrapper a file is, judged from its bytes first ("tnef", "outlook",
    "smime", "email"); None for a file to keep as it is."""
    if data.startswith(TNEF_MAGIC):  # whatever it is called or declared as
        return "tnef"
    if kind is DocKind.MSG:
        return "outlook"
    if kind is not DocKind.OTHER:
        return None
    if ctype in _OUTLOOK_TYPES or (filename or "").lower().endswith(".msg"):
        return "outlook"  # but not one olefile can read: `outlook` says so with a marker
    if ctype in _SMIME_TYPES or (filename or "").lower().endswith(".p7m") or is_pkcs7(data):
        return "smime"
    if ctype in _EMAIL_TYPES or _looks_like_email(data):
        return "email"
    return None


def _is_mime(data: bytes) -> bool:
    """Whether `data` starts with a MIME entity's header section, Content-Type among it."""
    head = header_block(data[:8192])
    if not head.endswith(b"\n\n") or not _HEADER_LINE.match(head):
        return False
    return any(m.group(1).lower() == b"content-type" for m in _HEADER_LINE.finditer(head))


def _looks_like_email(data: bytes) -> bool:
    head = header_block(data[:8192])
    if not head.endswith(b"\n\n") or not _HEADER_LINE.match(head):
        return False
    names = {m.group(1).decode("ascii").lower() for m in _HEADER_LINE.finditer(head)}
    return len(names & _EMAIL_HEADERS) >= 2


def _body_text(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        data = _data(part)[: 16 * BODY_TEXT_LIMIT]
        try:
            text = data.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            text = data.decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            text = _strip_html(text)
    except Exception:
        return ""
    return headers.SURROGATES.sub("\ufffd", text.replace("\r\n", "\n"))[:BODY_TEXT_LIMIT]


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("script", "style")
        self.chunks.append("\n" if tag in ("br", "p", "div", "tr", "li") else "")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= self.hidden > 0 and tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        self.chunks.append("" if self.hidden else data)


def _strip_html(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line)
