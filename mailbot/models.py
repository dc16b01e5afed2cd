"""The values that flow through mailbot's pipeline.

Every stage takes and returns these immutable pydantic models (all but the mailbox's raw
`MailboxMessage`, which says why), so a stage can be tested by
building its input by hand, and outcomes are plain values (a decision with reason codes)
rather than exceptions. Personal data lives only in `FormData`, `Referral` and `Person`; none
of their `repr`s is ever logged.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from mailbot.codes import Caution, Criterion, ReasonCode


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Clock(Protocol):
    """What tells the time: passed in everywhere, so a test can hand in a fixed clock."""

    def now(self) -> datetime: ...


class Outcome(StrEnum):
    """Every email ends in exactly one of these."""

    ACCEPTED = "accepted"
    INFO_ONLY = "info_only"
    RETURNED = "returned"
    HELD = "held"
    # Not a referral at all (`mailbot.intake.stages.is_other_mail`): recorded and listed for
    # the team as "other mail", never answered automatically (a stranger gets no backscatter).
    OTHER = "other"


class Folder(StrEnum):
    """Mailbox folders mailbot uses; a message is only ever moved, never deleted."""

    INBOX = "Inbox"
    PROCESSED = "Processed"
    EXCEPTIONS = "Exceptions"
    OUTBOX = "Outbox"  # mail waiting to be sent; messages are delivered here, never marked done


class DocKind(StrEnum):
    """What an attachment really is, judged from its bytes, not its name."""

    DOCX = "docx"  # an OOXML zip with a Word main document
    DOCM = "docm"  # macro-enabled Word (or any OOXML with a vbaProject part)
    ENCRYPTED = "encrypted"  # an OLE compound file holding an encrypted OOXML package
    DOC = "doc"  # Word 97-2003 binary (OLE with a WordDocument stream)
    PDF = "pdf"
    IMAGE = "image"
    ZIP = "zip"  # some other zip/OOXML (xlsx, pptx, plain zip)
    MSG = "msg"  # an Outlook item (.msg): a compound file with the message stream layout
    EMPTY = "empty"
    OTHER = "other"


class MailboxMessage:
    """A raw message as a mailbox backend hands it over.

    A referral with photographs can be tens of megabytes, so whatever hands these on (a
    backend's `fetch_new`, the look-ahead, the runner's loop) lets go of one before it reads
    the next: memory holds one large email at a time, not two. And once intake has parsed a
    large one, it may `release` the bytes (it reads them again from the mailbox in the rare
    case it must keep them), so they are not held while the document is opened. Not a frozen
    model for that reason; the repr never shows the bytes (they are personal data)."""

    def __init__(self, *, ref: str, raw: bytes, received_at: datetime) -> None:
        self.ref = ref  # backend-specific handle (Maildir key, IMAP UID, EWS item id)
        self.received_at = received_at
        self.size = len(raw)
        self._raw: bytes | None = raw

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            raise RuntimeError("the message's bytes were released after parsing")
        return self._raw

    @property
    def released(self) -> bool:
        return self._raw is None

    def release(self) -> None:
        """Let go of the bytes (the caller can read them again from the mailbox)."""
        self._raw = None

    def __repr__(self) -> str:
        return f"MailboxMessage(ref={self.ref!r}, size={self.size}, received_at={self.received_at})"


class Attachment(Frozen):
    """One file found in an email (top level, forwarded, or inside winmail.dat)."""

    filename: str | None
    content_type: str
    data: bytes
    kind: DocKind


class ParsedEmail(Frozen):
    """The parts of an email the pipeline needs. No body text is kept (it may hold PII)."""

    message_id: str
    sender: str  # lower-cased bare address, or "" when absent/unparseable
    subject: str
    sent_at: datetime | None
    in_reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # More files than DocumentLimits.max_attachments: the rest were not looked at, so the
    # form may be among them (the pipeline holds the email for an administrator).
    truncated: bool = False
    # Sent by a machine that must not be answered automatically (RFC 3834: auto-replies,
    # bounces, list and bulk mail): decided as any email, but never replied to.
    automatic: bool = False
    body_text: str = Field(default="", repr=False)

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]


class DashAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    DONT_KNOW = "dont_know"


class ChildRow(Frozen):
    """One non-blank row of the children table, as typed (strings, '' when empty)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    name: str = ""
    dob: str = ""
    gender: str = ""
    address: str = ""
    school: str = ""
    relationship: str = ""


class FormData(Frozen):
    """Everything read from one referral form, as typed, before any checking.

    `values` holds every label/value field of `formdef.VALUE_FIELDS` by id ('' when empty or
    showing a placeholder); `ticks` the single tick boxes (`no_children`, `reason_*`);
    `dash` question number (1-24) to the answer ticked (None when none, or more than one);
    `children` the non-blank rows. The form writer renders this same model.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    version: str = "v3.1"
    values: dict[str, str] = Field(default_factory=dict, repr=False)
    ticks: dict[str, bool] = Field(default_factory=dict)
    dash: dict[int, DashAnswer | None] = Field(default_factory=dict)
    dash_comments: dict[int, str] = Field(default_factory=dict, repr=False)
    children: tuple[ChildRow, ...] = Field(default=(), repr=False)

    def value(self, field_id: str) -> str:
        return self.values.get(field_id, "")

    def ticked(self, field_id: str) -> bool:
        return self.ticks.get(field_id, False)

    @property
    def dash_yes_count(self) -> int:
        return sum(1 for a in self.dash.values() if a is DashAnswer.YES)


class Person(Frozen):
    """A victim as repeat matching sees them (from a form, or from case history)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    surname: str = Field(repr=False)
    forenames: str = Field(repr=False)
    dob: date | None = Field(default=None, repr=False)
    aliases: tuple[str, ...] = Field(default=(), repr=False)


class HistoryEntry(Frozen):
    """One earlier MARAC hearing of a person (imported, or mailbot's own accepted cases)."""

    reference: str
    area: str | None
    marac_date: date
    person: Person


class OpenCase(Frozen):
    """A case of this victim still open: listed at a meeting not yet held (`meeting_date`),
    or with a referral held in the exceptions queue (`meeting_date` None)."""

    reference: str
    person: Person
    area: str | None = None
    meeting_date: date | None = None
    information_only: bool = False


class Decision(Frozen):
    """The outcome of one email, with its machine-readable codes (REFERRAL-FORM.md).

    Codes are enum members (`mailbot.codes`), or field codes made by `missing_field` and
    `invalid_field`; each is a `str` equal to its code, so it is stored and printed as before.
    """

    outcome: Outcome
    reasons: tuple[ReasonCode, ...] = ()
    warnings: tuple[Caution, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    repeat_of: str | None = None
    duplicate_of: str | None = None
    possible_repeats: tuple[str, ...] = ()
    joined: str | None = None  # the open case this referral joined


class DocumentLimits(Frozen):
    """Bounds on hostile input: anything past them is `unreadable_document`, never a hang."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # a typo'd limit must not pass

    max_email_bytes: int = 60 * 1024 * 1024
    max_attachment_bytes: int = 30 * 1024 * 1024
    max_attachments: int = 50
    max_nesting: int = 5  # forwarded emails / winmail.dat inside one another
    max_zip_entries: int = 2000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_part_bytes: int = 50 * 1024 * 1024  # one XML part, uncompressed
    max_compression_ratio: float = 200.0
    max_spin_count: int = 500_000  # Office's default is 100,000


class Meeting(Frozen):
    """One meeting of an area, with the day its agenda is due out."""

    area: str
    date: dt.date
    time: dt.time
    venue: str
    capacity: int
    agenda_date: dt.date


# -- addresses and message ids from outside --------------------------------------------
# Email addresses and message ids from outside, validated once, in one place.
#
# A header value from outside is parsed once, validated, and only the validated value is
# checked (is this sender secure? which agency?) and written (To, In-Reply-To, References).
# Everything else is refused, because Python's email package decodes RFC 2047 encoded words
# when it writes a header: an id or an address holding `=?utf-8?b?...?=` can turn into CR LF
# and a Bcc line in a confirmation sent from the referrals mailbox, or into another address
# than the one that was checked. So: ASCII only, no encoded word, no space or control
# character, one address, and the lengths of RFC 5321 and RFC 5322.

# RFC 5322 dot-atom local part (atext), a domain of LDH labels with an alphabetic top level:
# what agencies' mail systems send, and what every relay accepts without SMTPUTF8.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}")
# <id-left@id-right>, printable ASCII without the angle brackets (RFC 5322 3.6.4, loosely:
# real mail systems put more than dot-atoms there).
_MSGID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
_ENCODED_WORD = "=?"
MAX_ADDRESS = 254
MAX_LOCAL = 64
MAX_MSGID = 998


def mailbox_address(text: str) -> str | None:
    """The address, lower-cased, if it is one safe to check and to write; else None."""
    value = text.strip()
    local = value.rpartition("@")[0]
    if (
        len(value) > MAX_ADDRESS
        or len(local) > MAX_LOCAL
        or _ENCODED_WORD in value
        or not _ADDRESS.fullmatch(value)
    ):
        return None
    return value.lower()


def message_id(text: str) -> str | None:
    """The message id `<...@...>`, if it is one safe to write back (In-Reply-To); else None."""
    value = text.strip()
    if len(value) > MAX_MSGID or _ENCODED_WORD in value or not _MSGID.fullmatch(value):
        return None
    return value
