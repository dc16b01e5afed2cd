"""Mandatory fields and field checks: what the referrer must fix, field by field.

Driven entirely by `formdef`: each field's `need` says when it must be filled, its `kind` how
it is checked. The result is the list of `missing_field:<id>` / `invalid_field:<id>` codes
plus the typed facts the threshold, age and repeat checks need.
"""

from __future__ import annotations

import re
from datetime import date

from mailbot import formdef
from mailbot.codes import Reason, ReasonCode, invalid_field, missing_field
from mailbot.formdef import FieldDef, Kind, Need
from mailbot.models import FormData, Frozen, Person, mailbox_address
from mailbot.validate.dates import age_on, parse_date
from mailbot.validate.names import split_aliases

MAX_AGE = 120
# The UK postcode format (BS 7666), including GIR 0AA; spaces are optional when typed.
_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$",
    re.IGNORECASE,
)
_DOB_FIELDS = frozenset({"victim_dob", "perp_dob"})
_FUTURE_OK = frozenset({"pregnancy_due_date"})


class Facts(Frozen):
    """The typed values the later checks need (None when missing or invalid)."""

    area: str | None = None
    referral_type: str | None = None
    referral_date: date | None = None
    incident_date: date | None = None
    previous_marac_date: date | None = None
    repeat_needs_discussion: bool | None = None
    victim: Person | None = None
    police_callouts: int | None = None
    dash_declared: int | None = None
    pj_words: int = 0

    @property
    def declared_repeat(self) -> bool:
        return self.referral_type == "Repeat referral"

    @property
    def declared_transfer(self) -> bool:
        return self.referral_type == "Transfer in from another MARAC"


class FieldReport(Frozen):
    codes: tuple[ReasonCode, ...]
    facts: Facts


def is_not_known(text: str) -> bool:
    return text.strip().lower() in formdef.NOT_KNOWN_WORDS


def canonical_choice(field: FieldDef, text: str) -> str | None:
    """The choice `text` means (case and trailing punctuation ignored), or None."""
    wanted = text.strip().rstrip(".").casefold()
    for choice in field.choices:
        if choice.casefold() == wanted:
            return choice
    return field.synonyms.get(wanted)


def check_fields(form: FormData, *, today: date, pj_min_words: int = 20) -> FieldReport:
    """Every missing or invalid field of `form`, and the facts read from the valid ones."""
    codes: list[ReasonCode] = []
    parsed: dict[str, object] = {}
    choice = {
        f.id: canonical_choice(f, form.value(f.id))
        for f in formdef.VALUE_FIELDS
        if f.kind is Kind.CHOICE
    }
    needed = _conditions(form, choice)
    for field in formdef.VALUE_FIELDS:
        text = form.value(field.id)
        if not text or (is_not_known(text) and not field.not_known_ok):
            if needed[field.need]:
                codes.append(missing_field(field.id))
            continue
        if is_not_known(text):
            continue
        value = _check(field, text, choice.get(field.id), today)
        if value is None:
            codes.append(invalid_field(field.id))
        else:
            parsed[field.id] = value
    codes.extend(_children_codes(form, today))
    pj_words = len(form.value("pj_rationale").split())
    if form.ticked("reason_professional_judgement") and 0 < pj_words < pj_min_words:
        codes.append(invalid_field("pj_rationale"))
    if not any(form.ticked(r.id) for r in formdef.REASONS):
        codes.append(Reason.NO_REASON_TICKED)
    return FieldReport(codes=tuple(dict.fromkeys(codes)), facts=_facts(form, parsed, pj_words))


def _conditions(form: FormData, choice: dict[str, str | None]) -> dict[Need, bool]:
    kind = choice.get("referral_type")
    return {
        Need.ALWAYS: True,
        Need.OPTIONAL: False,
        Need.IF_REPEAT: kind == "Repeat referral" or form.ticked("reason_repeat"),
        Need.IF_TRANSFER: kind == "Transfer in from another MARAC"
        or form.ticked("reason_transfer"),
        Need.IF_NOT_ATTENDING: choice.get("referrer_attending") == "No",
        Need.IF_NOT_AWARE: choice.get("victim_aware") == "No",
        Need.IF_PROFESSIONAL_JUDGEMENT: form.ticked("reason_professional_judgement"),
        Need.IF_ESCALATION: form.ticked("reason_escalation"),
    }


def _check(field: FieldDef, text: str, choice: str | None, today: date) -> object | None:
    """The typed value of a non-empty field, or None when it fails its check."""
    match field.kind:
        case Kind.DATE:
            return _check_date(field.id, text, today)
        case Kind.CHOICE:
            return choice
        case Kind.EMAIL:  # one the replies can be written to (`mailbot.models.mailbox_address`)
            return text if mailbox_address(text) else None
        case Kind.POSTCODE:
            return text if _POSTCODE.match(" ".join(text.split())) else None
        case Kind.NUMBER:
            return int(text.strip()) if text.strip().isdigit() else None
        case _:
            return text


def _check_date(field_id: str, text: str, today: date) -> date | None:
    day = parse_date(text, today=today)
    if day is None:
        return None
    if day > today and field_id not in _FUTURE_OK:
        return None
    if field_id in _DOB_FIELDS and age_on(day, today) >= MAX_AGE:
        return None
    return day


def _children_codes(form: FormData, today: date) -> list[ReasonCode]:
    if not form.children:
        return [] if form.ticked("no_children") else [missing_field("children")]
    codes: list[ReasonCode] = []
    for child in form.children:
        if not child.name.strip() or is_not_known(child.name):
            codes.append(missing_field("child_name"))
        if not child.dob.strip() or is_not_known(child.dob):
            codes.append(missing_field("child_dob"))
        else:
            dob = parse_date(child.dob, today=today)
            if dob is None or dob > today or age_on(dob, today) >= MAX_AGE:
                codes.append(invalid_field("child_dob"))
    return codes


def _facts(form: FormData, parsed: dict[str, object], pj_words: int) -> Facts:
    def get_date(key: str) -> date | None:
        value = parsed.get(key)
        return value if isinstance(value, date) else None

    def get_int(key: str) -> int | None:
        value = parsed.get(key)
        return value if isinstance(value, int) else None

    discussion = parsed.get("repeat_needs_discussion")
    surname, forenames = form.value("victim_surname"), form.value("victim_forenames")
    victim = None
    if surname and forenames:
        victim = Person(
            surname=surname,
            forenames=forenames,
            dob=get_date("victim_dob"),
            aliases=split_aliases(form.value("victim_aliases")),
        )
    area = parsed.get("marac_area")
    kind = parsed.get("referral_type")
    return Facts(
        area=area if isinstance(area, str) else None,
        referral_type=kind if isinstance(kind, str) else None,
        referral_date=get_date("referral_date"),
        incident_date=get_date("incident_date"),
        previous_marac_date=get_date("previous_marac_date"),
        repeat_needs_discussion=None if discussion is None else discussion == "Yes",
        victim=victim,
        police_callouts=get_int("police_callouts_12m"),
        dash_declared=get_int("dash_score"),
        pj_words=pj_words,
    )


def victim_age(facts: Facts, today: date) -> int | None:
    """Age on the referral date (today if that is missing)."""
    if facts.victim is None or facts.victim.dob is None:
        return None
    return age_on(facts.victim.dob, facts.referral_date or today)
