"""The intake pipeline in one place: its stages, and `assess`, which runs them in order.

email -> referral form -> decision, as `STAGES` names them (PROCESS.md "Intake decisions"):
set aside mail that is no referral at all (other mail); find the documents, decrypt, check
the package is safe, recognise and read the form; check the fields, threshold and age; look
the victim up; match earlier hearings (repeats) and cases still open; find duplicates;
decide. Each stage is a pure function over models (no database, no mailbox, no logging); what
the records know arrives through `Records`, and `mailbot.intake.process` does the I/O around
the whole.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Protocol

from mailbot.cases.lifecycle import Known
from mailbot.codes import Reason
from mailbot.config import Config
from mailbot.ingest.document.decrypt import DecryptFailure, decrypt
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.ingest.document.sniff import WORD_KINDS, classify_package
from mailbot.ingest.form.reader import WrongForm, read_form
from mailbot.ingest.mime.parse import is_oversized
from mailbot.models import (
    Attachment,
    Decision,
    DocKind,
    DocumentLimits,
    Folder,
    FormData,
    Frozen,
    HistoryEntry,
    OpenCase,
    Outcome,
    ParsedEmail,
    Person,
)
from mailbot.validate.decide import decide
from mailbot.validate.fields import FieldReport, check_fields
from mailbot.validate.names import victim_key
from mailbot.validate.other_mail import is_other_mail
from mailbot.validate.repeats import OpenMatch, RepeatMatch, match_history, match_open

# When no form could be read, the most telling problem wins: a document we could not open
# may be the referral, so it is held for a password before anything is returned.
_FAILURE_ORDER = (
    Reason.CANNOT_DECRYPT,
    Reason.MACRO_CONTENT,
    Reason.ACTIVE_CONTENT,
    Reason.UNREADABLE_DOCUMENT,
    Reason.LEGACY_WORD_FORMAT,
    Reason.WRONG_FORM,
)
_HELD = frozenset({Reason.CANNOT_DECRYPT, Reason.MULTIPLE_FORMS, Reason.TOO_MANY_ATTACHMENTS})


class OpenedForm(Frozen):
    """The one referral form found in an email, read."""

    form: FormData
    doc_sha256: str
    encrypted: bool


class Unopened(Frozen):
    """No single form could be read: the code says why."""

    code: Reason

    @property
    def decision(self) -> Decision:
        outcome = Outcome.HELD if self.code in _HELD else Outcome.RETURNED
        return Decision(outcome=outcome, reasons=(self.code,))


def open_referral(
    email: ParsedEmail,
    passwords: Sequence[str],
    limits: DocumentLimits,
) -> OpenedForm | Unopened:
    """Find, decrypt and read the referral form in an email.

    When the email had more files than `limits.max_attachments`, the ones past the limit were
    not looked at: only one form read among those that were is an answer; anything else
    (no form, a failure, several forms) might be wrong, so a person looks instead."""
    opened = _open_referral(email, passwords, limits)
    if email.truncated and not isinstance(opened, OpenedForm):
        return Unopened(code=Reason.TOO_MANY_ATTACHMENTS)
    return opened


def _open_referral(
    email: ParsedEmail,
    passwords: Sequence[str],
    limits: DocumentLimits,
) -> OpenedForm | Unopened:
    if not email.attachments:
        return Unopened(code=Reason.NO_ATTACHMENT)
    documents = [a for a in email.attachments if a.kind in WORD_KINDS]
    oversized = any(is_oversized(a) for a in email.attachments)
    if not documents:
        return Unopened(code=Reason.UNREADABLE_DOCUMENT if oversized else Reason.NOT_WORD_DOCUMENT)
    forms: dict[str, OpenedForm] = {}
    failures: list[Reason] = [Reason.UNREADABLE_DOCUMENT] if oversized else []
    for attachment in documents:
        result = open_document(attachment, passwords, limits)
        if isinstance(result, OpenedForm):
            forms.setdefault(result.doc_sha256, result)
        else:
            failures.append(result)
    if len(forms) > 1:
        return Unopened(code=Reason.MULTIPLE_FORMS)
    if Reason.CANNOT_DECRYPT in failures or not forms:
        return Unopened(code=min(failures, key=_FAILURE_ORDER.index))
    return next(iter(forms.values()))


def open_document(
    attachment: Attachment,
    passwords: Sequence[str],
    limits: DocumentLimits,
) -> OpenedForm | Reason:
    """One Word attachment read as a form, or the reason code why it cannot be."""
    kind, encrypted = attachment.kind, False
    # The attachment as a file: BytesIO shares the bytes until written to, so no copy.
    package: io.BytesIO | io.BufferedReader = io.BytesIO(attachment.data)
    if kind is DocKind.ENCRYPTED:
        opened = decrypt(attachment.data, passwords, limits)
        if isinstance(opened, DecryptFailure):
            return opened.code
        package, kind, encrypted = opened.package, classify_package(opened.package), True
    if kind is DocKind.DOC:
        return Reason.LEGACY_WORD_FORMAT
    if kind is DocKind.DOCM:
        return Reason.MACRO_CONTENT
    if kind is not DocKind.DOCX:
        return Reason.UNREADABLE_DOCUMENT
    problem = inspect_package(package, limits)
    if problem is not None:
        return problem
    form = read_form(package)
    if isinstance(form, WrongForm):
        return Reason.WRONG_FORM
    if not isinstance(form, FormData):
        return Reason.UNREADABLE_DOCUMENT
    package.seek(0)
    digest = hashlib.file_digest(package, "sha256").hexdigest()
    return OpenedForm(form=form, doc_sha256=digest, encrypted=encrypted)


def check_referral(form: FormData, config: Config, today: date) -> FieldReport:
    return check_fields(form, today=today, pj_min_words=config.threshold.pj_rationale_min_words)


def find_repeats(
    report: FieldReport, history: Sequence[HistoryEntry], config: Config
) -> RepeatMatch:
    facts = report.facts
    if facts.victim is None or facts.victim.dob is None or facts.incident_date is None:
        return RepeatMatch()
    return match_history(
        facts.victim,
        facts.incident_date,
        history,
        window_months=config.threshold.repeat_window_months,
        desktop_window_months=config.threshold.desktop_review_window_months,
    )


def find_open_case(report: FieldReport, open_cases: Sequence[OpenCase]) -> OpenMatch:
    facts = report.facts
    if facts.victim is None or facts.victim.dob is None:
        return OpenMatch()
    return match_open(facts.victim, open_cases)


def decide_referral(
    opened: OpenedForm,
    report: FieldReport,
    repeat: RepeatMatch,
    *,
    duplicate_of: str | None,
    sender: str,
    config: Config,
    today: date,
    open_match: OpenMatch | None = None,
) -> Decision:
    insecure = not opened.encrypted and not config.is_secure_address(sender)
    return decide(
        opened.form,
        report,
        repeat,
        duplicate_of=duplicate_of,
        today=today,
        rules=config.threshold,
        below_threshold=config.below_threshold_policy(report.facts.area),
        insecure=insecure,
        open_match=open_match,
    )


# Reasons that file the email in Exceptions even though the referrer is answered: the
# document must not sit among processed mail where someone might open it.
QUARANTINE: frozenset[Reason] = frozenset({Reason.MACRO_CONTENT, Reason.ACTIVE_CONTENT})


@dataclass(frozen=True)
class Assessed:
    """A referral email assessed: the decision and what it was made from."""

    decision: Decision
    opened: OpenedForm | None = None
    report_area: str | None = None
    victim: Person | None = None
    victim_key: str | None = None
    incident: date | None = None
    referral_date: date | None = None
    error: str | None = None  # an exception's class name: never its message (may hold PII)
    blind: Decision | None = None  # the decision without the victim's history (`Intake`)


# Recorded and listed for the team; never answered (`mailbot.validate.other_mail`).
OTHER_MAIL = Decision(outcome=Outcome.OTHER, reasons=(Reason.OTHER_MAIL,))


def processing_error(kind: str) -> Assessed:
    """Held for an administrator: processing failed with exception class `kind`."""
    return Assessed(
        decision=Decision(outcome=Outcome.HELD, reasons=(Reason.PROCESSING_ERROR,)), error=kind
    )


def folder_for(decision: Decision) -> Folder:
    """Where the email goes: Exceptions when held or quarantined, else Processed."""
    if decision.outcome is Outcome.HELD or QUARANTINE.intersection(decision.reasons):
        return Folder.EXCEPTIONS
    return Folder.PROCESSED


# The pipeline, in order: each name is one step of `assess` below.
STAGES = (
    "sort",  # is_other_mail: no attachment, no referral wording, a stranger: other mail
    "open",  # open_referral: the one form in the email, decrypted and read safely
    "check",  # check_referral: mandatory fields, threshold, age
    "look_up",  # Records.known: hearings and open cases of people who could be the victim
    "repeats",  # find_repeats: heard within the window (repeat, desktop review)
    "open_case",  # find_open_case: listed at a meeting not yet held (joins it)
    "duplicate",  # Records.find_duplicate: the same document or victim again
    "decide",  # decide_referral: the outcome with its codes (and the history-blind one)
)


class Records(Protocol):
    """What the stages ask of the records (`mailbot.cases.casebook.Casebook` answers)."""

    def known(self, person: Person, today: date) -> Known: ...

    def find_duplicate(
        self, doc_sha256: str, victim_key: str | None, incident: date | None, source: str
    ) -> str | None: ...


def assess(
    email: ParsedEmail,
    passwords: Sequence[str],
    *,
    config: Config,
    today: date,
    records: Records,
    source: str,
    opened: OpenedForm | Unopened | None = None,
) -> Assessed:
    """Run `STAGES` over one email. `opened`: the first stage already done (in a worker,
    `mailbot.intake.prefetch`); `source`: who referred, as duplicates are found."""
    if is_other_mail(email, config):
        return Assessed(decision=OTHER_MAIL)
    if opened is None:
        opened = open_referral(email, passwords, config.limits)
    if isinstance(opened, Unopened):
        return Assessed(decision=opened.decision)
    report = check_referral(opened.form, config, today)
    facts = report.facts
    known = records.known(facts.victim, today) if facts.victim else Known()
    repeat = find_repeats(report, known.hearings, config)
    open_match = find_open_case(report, known.open_cases)
    vkey = (
        victim_key(facts.victim.forenames, facts.victim.surname, facts.victim.dob)
        if facts.victim
        else None
    )
    duplicate_of = records.find_duplicate(opened.doc_sha256, vkey, facts.incident_date, source)
    decide = partial(
        decide_referral,
        opened,
        report,
        duplicate_of=duplicate_of,
        sender=email.sender,
        config=config,
        today=today,
    )
    return Assessed(
        decision=decide(repeat, open_match=open_match),
        opened=opened,
        report_area=facts.area,
        victim=facts.victim,
        victim_key=vkey,
        incident=facts.incident_date,
        referral_date=facts.referral_date,
        blind=decide(RepeatMatch()),
    )
