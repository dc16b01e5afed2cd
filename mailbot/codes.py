"""Reason, warning and criterion codes, each with its text in plain English.

Codes are for machines (reports, filters, tests); people need a sentence that says what is
wrong and how to fix it. Each code is an enum member (`Reason`, `Caution`, `Criterion`), so a
mistyped code fails the type check; a member is a `str` equal to its code, so it is stored,
logged and printed as the bare code. `missing_field:<id>` and `invalid_field:<id>` name a
field of the form: they are built by `missing_field` and `invalid_field` (a `FieldCode`), and
take the field's label from the form definition, so the advice names the box the referrer
must fill.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, NewType

from pydantic import Field

from mailbot.formdef import FIELD_LABELS, FIELDS_BY_ID, Kind


class Reason(StrEnum):
    """Why a referral is returned to its referrer or held for an administrator."""

    # returned to the referrer
    WRONG_FORM = "wrong_form"
    NO_ATTACHMENT = "no_attachment"
    NOT_WORD_DOCUMENT = "not_word_document"
    LEGACY_WORD_FORMAT = "legacy_word_format"
    MACRO_CONTENT = "macro_content"
    ACTIVE_CONTENT = "active_content"
    UNREADABLE_DOCUMENT = "unreadable_document"
    NO_REASON_TICKED = "no_reason_ticked"
    THRESHOLD_NOT_MET = "threshold_not_met"
    VICTIM_UNDER_16 = "victim_under_16"
    DUPLICATE = "duplicate"
    # held in the exceptions queue
    CANNOT_DECRYPT = "cannot_decrypt"
    CHAIR_REVIEW = "chair_review"
    POSSIBLE_REPEAT = "possible_repeat"
    OPEN_CASE_IN_QUEUE = "open_case_in_queue"
    MULTIPLE_FORMS = "multiple_forms"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    PROCESSING_ERROR = "processing_error"
    # discarded by an administrator
    NOT_A_REFERRAL = "not_a_referral"
    # other mail: recorded and listed for the team, never answered
    OTHER_MAIL = "other_mail"

    @property
    def text(self) -> str:
        return REASONS[self]


class Caution(StrEnum):
    """A warning: recorded and told to the right people; the referral still goes ahead."""

    INSECURE_TRANSPORT = "insecure_transport"
    DASH_SCORE_MISMATCH = "dash_score_mismatch"
    REPEAT_DETECTED = "repeat_detected"
    DESKTOP_REVIEW = "desktop_review"
    YOUNG_PERSON = "young_person"
    REASON_NOT_TICKED = "reason_not_ticked"
    ALREADY_LISTED = "already_listed"
    BELOW_THRESHOLD_JOINED = "below_threshold_joined"
    CHAIR_ACCEPTED = "chair_accepted"

    @property
    def text(self) -> str:
        return WARNINGS[self]


class Criterion(StrEnum):
    """A MARAC referral criterion a case meets."""

    VISIBLE_HIGH_RISK = "visible_high_risk"
    PROFESSIONAL_JUDGEMENT = "professional_judgement"
    ESCALATION = "escalation"
    REPEAT = "repeat"
    TRANSFER = "transfer"

    @property
    def text(self) -> str:
        return CRITERIA[self]


class FieldProblem(StrEnum):
    """The kind part of a field code `<kind>:<field id>`."""

    MISSING = "missing_field"
    INVALID = "invalid_field"


# `missing_field:<id>` or `invalid_field:<id>`: only `missing_field` and `invalid_field`
# make one, so a bare string is not a reason to the type checker.
FieldCode = NewType("FieldCode", str)
# A decision's reason: an enum member, or a field code. Read from the store, a known code
# becomes its member (tried first) and anything else stays the string it was.
ReasonCode = Annotated[Reason | FieldCode, Field(union_mode="left_to_right")]


def missing_field(field_id: str) -> FieldCode:
    """`missing_field:<field_id>`: a mandatory field is empty."""
    return FieldCode(f"{FieldProblem.MISSING}:{field_id}")


def invalid_field(field_id: str) -> FieldCode:
    """`invalid_field:<field_id>`: a field fails its check."""
    return FieldCode(f"{FieldProblem.INVALID}:{field_id}")


def reason_code(code: str) -> ReasonCode:
    """The reason a typed code names (an administrator's choice, say): its member, or a field
    code `<kind>:<id>` (the field is not checked here). ValueError for anything else."""
    if code in _REASON_VALUES:
        return Reason(code)
    kind, colon, field_id = code.partition(":")
    if colon and field_id and kind in _FIELD_PROBLEMS:
        return FieldCode(code)
    raise ValueError(f"not a reason code: {code}")


_REASON_VALUES = frozenset(Reason)
_FIELD_PROBLEMS = frozenset(FieldProblem)


REASONS: dict[Reason, str] = {
    Reason.WRONG_FORM: "The document is not the West Midlands MARAC Referral Form (v3.1). Only the"
    " official form is accepted: download it again and fill it in.",
    Reason.NO_ATTACHMENT: "No referral form was attached to the email.",
    Reason.NOT_WORD_DOCUMENT: "The attachment is not a Word document (for example a PDF, scan or"
    " image). Send the official form as a Word (.docx) file.",
    Reason.LEGACY_WORD_FORMAT: "The form was saved in the old Word 97-2003 (.doc) format. Save it"
    " as a Word Document (.docx) and send it again.",
    Reason.MACRO_CONTENT: "The document contains macros, which are not accepted for security"
    " reasons. Save the form as a plain Word Document (.docx) and send it again.",
    Reason.ACTIVE_CONTENT: "The document contains active content (a template, picture or text"
    " linked from another computer, a field that fetches files or runs programs, or an"
    " embedded or linked object), which is not accepted for security reasons. Save the form"
    " as a plain Word Document (.docx) without embedded objects or linked pictures and send"
    " it again.",
    Reason.UNREADABLE_DOCUMENT: "The document could not be read: it is damaged, truncated, too"
    " large, or nested too deeply in the email (forwards inside forwards). Save the form again"
    " and attach it directly to a new email.",
    Reason.NO_REASON_TICKED: "No reason for referral is ticked in Section 5. Tick every reason that"
    " applies.",
    Reason.THRESHOLD_NOT_MET: "The referral does not meet the MARAC threshold: fewer than 14 Yes"
    " answers on the DASH checklist, and no professional judgement rationale (20 words or"
    " more), escalation (3 or more police call-outs in 12 months), repeat or transfer.",
    Reason.VICTIM_UNDER_16: "The victim is under 16. Child protection procedures apply, not MARAC:"
    " refer to children's social care.",
    Reason.DUPLICATE: "This referral was already received.",
    Reason.CANNOT_DECRYPT: "The document is password protected and none of the agreed passwords"
    " opens it. Send the password in a separate email with 'password' in the subject, or"
    " phone it through.",
    Reason.CHAIR_REVIEW: "The referral is below the threshold and is waiting for the MARAC Chair"
    " to decide.",
    Reason.POSSIBLE_REPEAT: "The victim may have been heard at MARAC before, or may be the victim"
    " of a case already open; an administrator is checking the other case.",
    Reason.OPEN_CASE_IN_QUEUE: "The victim already has a referral waiting in the exceptions queue;"
    " this one, below the threshold on its own, waits beside it for the same decision.",
    Reason.MULTIPLE_FORMS: "More than one referral form was attached to one email; an"
    " administrator will separate them.",
    Reason.TOO_MANY_ATTACHMENTS: "The email carries more attachments than are checked"
    " automatically; an administrator will find the referral form among them.",
    Reason.NOT_A_REFERRAL: "An administrator decided this email is not a MARAC referral.",
    Reason.OTHER_MAIL: "Not a referral: no attachment and no referral wording, from an address"
    " of no configured agency or secure domain. No reply was sent: answer it by hand from the"
    " Processed folder if it needs one.",
    Reason.PROCESSING_ERROR: "Something unexpected went wrong while reading the referral; an"
    " administrator is looking at it.",
}

WARNINGS: dict[Caution, str] = {
    Caution.INSECURE_TRANSPORT: "The form was sent unencrypted from an email address that is not"
    " on a secure domain. Next time, password-protect the document with your agency's agreed"
    " password, or send it from a secure email account.",
    Caution.DASH_SCORE_MISMATCH: "The DASH score written on the form differs from the number of Yes"
    " answers ticked; the ticked answers were counted.",
    Caution.REPEAT_DETECTED: "The victim was heard at MARAC within the last 12 months, so this is a"
    " repeat referral although the form does not say so.",
    Caution.DESKTOP_REVIEW: "This is the victim's fourth MARAC in six months: a desktop review is"
    " due.",
    Caution.YOUNG_PERSON: "The victim is 16 or 17: child protection procedures take precedence, and"
    " the Chair is told.",
    Caution.REASON_NOT_TICKED: "No reason for referral was ticked in Section 5, but the referral"
    " meets the criteria listed above; next time, tick every reason that applies.",
    Caution.ALREADY_LISTED: "The victim's case is already listed at this meeting; this referral was"
    " added to it.",
    Caution.BELOW_THRESHOLD_JOINED: "On its own this referral does not meet the MARAC threshold; it"
    " was added to the victim's open case because its information matters at that meeting.",
    Caution.CHAIR_ACCEPTED: "Below the threshold, accepted by the MARAC Chair.",
}

CRITERIA: dict[Criterion, str] = {
    Criterion.VISIBLE_HIGH_RISK: "Visible high risk (14 or more Yes answers on the DASH checklist)",
    Criterion.PROFESSIONAL_JUDGEMENT: "Professional judgement",
    Criterion.ESCALATION: "Potential escalation (3 or more police call-outs in 12 months)",
    Criterion.REPEAT: "Repeat (a new incident within 12 months of the last MARAC)",
    Criterion.TRANSFER: "MARAC to MARAC transfer",
}

# A few words for each code, where a table has room for a label and not a sentence.
LABELS: dict[Reason | Caution | Criterion, str] = {
    Reason.WRONG_FORM: "not the official form",
    Reason.NO_ATTACHMENT: "no form attached",
    Reason.NOT_WORD_DOCUMENT: "not a Word document",
    Reason.LEGACY_WORD_FORMAT: "old Word (.doc) format",
    Reason.MACRO_CONTENT: "contains macros",
    Reason.ACTIVE_CONTENT: "contains active content",
    Reason.UNREADABLE_DOCUMENT: "document unreadable",
    Reason.NO_REASON_TICKED: "no reason ticked",
    Reason.THRESHOLD_NOT_MET: "below the MARAC threshold",
    Reason.VICTIM_UNDER_16: "victim under 16",
    Reason.DUPLICATE: "already received",
    Reason.CANNOT_DECRYPT: "waiting for a password",
    Reason.CHAIR_REVIEW: "for the Chair to decide",
    Reason.POSSIBLE_REPEAT: "possibly a known victim",
    Reason.OPEN_CASE_IN_QUEUE: "victim's other referral is held",
    Reason.MULTIPLE_FORMS: "several forms in one email",
    Reason.TOO_MANY_ATTACHMENTS: "too many attachments",
    Reason.PROCESSING_ERROR: "processing error",
    Reason.NOT_A_REFERRAL: "not a referral (discarded)",
    Caution.INSECURE_TRANSPORT: "sent unencrypted",
    Caution.DASH_SCORE_MISMATCH: "DASH score differs from ticks",
    Caution.REPEAT_DETECTED: "repeat not declared",
    Caution.DESKTOP_REVIEW: "desktop review due",
    Caution.YOUNG_PERSON: "victim 16 or 17",
    Caution.REASON_NOT_TICKED: "no reason ticked",
    Caution.ALREADY_LISTED: "joined the listed case",
    Caution.BELOW_THRESHOLD_JOINED: "below threshold, joined open case",
    Caution.CHAIR_ACCEPTED: "accepted by the Chair",
    Criterion.VISIBLE_HIGH_RISK: "visible high risk",
    Criterion.PROFESSIONAL_JUDGEMENT: "professional judgement",
    Criterion.ESCALATION: "escalation",
    Criterion.REPEAT: "repeat",
    Criterion.TRANSFER: "transfer",
}

# The rule behind each code, quoted in replies so the referrer sees why, not just what.
RULES: dict[Reason | FieldProblem, str] = {
    FieldProblem.MISSING: "Mandatory fields of the referral form must be completed, or the"
    " referral is returned with advice.",
    FieldProblem.INVALID: "Each field must hold a valid answer of its kind (dates, email address,"
    " UK postcode, the drop-down choices).",
    Reason.NO_REASON_TICKED: "At least one reason for referral must be ticked in Section 5.",
    Reason.THRESHOLD_NOT_MET: "MARAC referral criteria: visible high risk (14 or more Yes answers"
    " on the DASH checklist), professional judgement, potential escalation (3 or more police"
    " call-outs in 12 months), a repeat within 12 months of the last MARAC, or a transfer.",
    Reason.WRONG_FORM: "Since 1 April 2019 the West Midlands MARAC Referral Form is the only form"
    " accepted by the seven West Midlands MARACs.",
    Reason.NOT_WORD_DOCUMENT: "Referrals must be the official form, saved in Word (.docx).",
    Reason.LEGACY_WORD_FORMAT: "Referrals must be the official form, saved in Word (.docx).",
    Reason.MACRO_CONTENT: "Documents with macros are refused to protect partners' systems.",
    Reason.ACTIVE_CONTENT: "Documents with active content (macros, remote templates, linked"
    " pictures, fields that fetch files or run programs such as DDE, embedded or linked"
    " objects) are refused to protect partners' systems.",
    Reason.UNREADABLE_DOCUMENT: "Referrals must be the official form, saved in Word (.docx).",
    Reason.NO_ATTACHMENT: "The referral form must be attached to the email.",
    Reason.VICTIM_UNDER_16: "MARAC is for victims aged 16 and over; for younger victims child"
    " protection procedures apply.",
    Reason.DUPLICATE: "Each referral is listed once.",
}

_KIND_ADVICE = {
    Kind.DATE: "write it as a date such as 03/07/1991, not in the future",
    Kind.CHOICE: "choose one of the options in the drop-down list",
    Kind.EMAIL: "write a full email address such as name@agency.gov.uk",
    Kind.POSTCODE: "write a full UK postcode such as WV1 1AA",
    Kind.NUMBER: "write a whole number",
}


# Looked up by the bare code, as codes arrive from the store, the command line and forms.
_TEXTS: dict[str, str] = {
    code: text for table in (REASONS, WARNINGS, CRITERIA) for code, text in table.items()
}
_RULES: dict[str, str] = dict(RULES.items())


_LABELS: dict[str, str] = {str(code): text for code, text in LABELS.items()}


def label(code: str) -> str:
    """A few words for a code, for a table: a field code names its field's box."""
    kind, _, field_id = code.partition(":")
    if kind == FieldProblem.MISSING:
        return f"missing: {FIELD_LABELS.get(field_id, field_id)}"
    if kind == FieldProblem.INVALID:
        return f"not valid: {FIELD_LABELS.get(field_id, field_id)}"
    return _LABELS.get(code, code)


def rule(code: str) -> str:
    """The rule behind a reason code ('' when there is nothing to add)."""
    return _RULES.get(code.partition(":")[0], "")


def describe(code: str) -> str:
    """One sentence a referrer or administrator can act on."""
    kind, _, field_id = code.partition(":")
    if kind == FieldProblem.MISSING:
        return f"'{FIELD_LABELS.get(field_id, field_id)}' is empty: it must be filled in."
    if kind == FieldProblem.INVALID:
        label = FIELD_LABELS.get(field_id, field_id)
        if field_id == "pj_rationale":
            return (
                f"'{label}' is too short: explain the professional judgement in at least 20 words."
            )
        field = FIELDS_BY_ID.get(field_id)
        advice = _KIND_ADVICE.get(field.kind if field else Kind.DATE, "correct it")
        return f"'{label}' is not valid: {advice}."
    return _TEXTS.get(code, code)
