"""The West Midlands MARAC Referral Form (v3.1), as data.

This is the one place the form is defined: the field ids, labels, kinds and rules of
REFERRAL-FORM.md. The form reader finds fields by these ids (content controls) or labels
(controls stripped), the field checks apply these rules, and the form writer renders the
blank form and sample referrals from it. Changing the form means changing this module only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

FORM_TITLE = "West Midlands MARAC Referral Form"
FORM_CODE = "WM-MARAC-RF"
CURRENT_VERSION = "v3.1"
ACCEPTED_VERSIONS = ("v3.1", "v3.0")
HEADER_TEXT = f"OFFICIAL-SENSITIVE (when complete)    {FORM_CODE} {CURRENT_VERSION}"
FOOTER_TEXT = (
    "West Midlands MARAC Coordination - marac_referrals@west-midlands.pnn.police.uk"
    " - 101 ext 811 3048"
)
INTRO_PARAGRAPHS = (
    "Information in this referral is shared under section 115 of the Crime and Disorder Act"
    " 1998 and Articles 6 and 9 of the UK General Data Protection Regulation, for the"
    " prevention and detection of crime and to protect individuals from serious harm. Send"
    " the completed form, saved in Word, to marac_referrals@west-midlands.pnn.police.uk by"
    " secure email, or password-protect the document with your agency's agreed password.",
    "Fields marked in the guidance as mandatory must be completed, or the referral will be"
    " returned with advice. Any safeguarding needs must be dealt with immediately and must"
    " not wait for MARAC.",
)

# Word's own placeholder texts: a control showing one of these is empty.
PLACEHOLDERS = frozenset(
    {
        "Click or tap here to enter text.",
        "Click or tap to enter a date.",
        "Choose an item.",
        "Click here to enter text.",
        "Click here to enter a date.",
    }
)
TEXT_PLACEHOLDER = "Click or tap here to enter text."
DATE_PLACEHOLDER = "Click or tap to enter a date."
CHOICE_PLACEHOLDER = "Choose an item."

# Typed words that mean "not known" (compared after lower-casing and trimming).
NOT_KNOWN_WORDS = frozenset(
    {"n/k", "nk", "not known", "unknown", "tbc", "-", "n/a", "na", "none known", "not known."}
)
# Typed marks for a tick box (compared after trimming; letters case-insensitively).
TICKED_MARKS = frozenset({"x", "yes", "y", "✓", "✔", "☒", "■", "☑", "✗", "✘", "√"})
UNTICKED_MARKS = frozenset({"", "☐", "no", "n", "□"})
CHECKED_GLYPH = "☒"
UNCHECKED_GLYPH = "☐"

AREAS = (
    "Birmingham",
    "Coventry",
    "Dudley",
    "Sandwell",
    "Solihull",
    "Walsall",
    "Wolverhampton",
)


class Kind(StrEnum):
    """How a field's value is written and checked."""

    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"
    EMAIL = "email"
    POSTCODE = "postcode"
    NUMBER = "number"
    TICK = "tick"


class Need(StrEnum):
    """When a field must be filled in (otherwise `missing_field:<id>`)."""

    ALWAYS = "always"
    OPTIONAL = "optional"
    IF_REPEAT = "if_repeat"
    IF_TRANSFER = "if_transfer"
    IF_NOT_ATTENDING = "if_not_attending"
    IF_NOT_AWARE = "if_not_aware"
    IF_PROFESSIONAL_JUDGEMENT = "if_professional_judgement"
    IF_ESCALATION = "if_escalation"


@dataclass(frozen=True)
class FieldDef:
    """One single-value field of the form: a row with a label cell and a value cell."""

    id: str
    label: str
    kind: Kind
    need: Need = Need.OPTIONAL
    not_known_ok: bool = False
    choices: tuple[str, ...] = ()
    # Other spellings of a choice that mean the same answer (typed forms use them).
    synonyms: dict[str, str] = field(default_factory=dict)
    multiline: bool = False

    @property
    def placeholder(self) -> str:
        if self.kind is Kind.DATE:
            return DATE_PLACEHOLDER
        if self.kind is Kind.CHOICE:
            return CHOICE_PLACEHOLDER
        return TEXT_PLACEHOLDER


@dataclass(frozen=True)
class Section:
    """A heading and the label/value rows under it, in form order."""

    title: str
    fields: tuple[FieldDef, ...]


YES_NO = ("Yes", "No")
GENDERS = ("Female", "Male", "Non-binary", "Prefer not to say", "Not known")
REFERRAL_TYPES = ("New referral", "Repeat referral", "Transfer in from another MARAC")
IDVA_STATUSES = (
    "Referred to IDVA",
    "Already supported by IDVA",
    "Victim declined IDVA",
    "Not referred",
)

F = FieldDef
SECTIONS: tuple[Section, ...] = (
    Section(
        "Section 1: Referral details",
        (
            F("referral_date", "Date of referral", Kind.DATE, Need.ALWAYS),
            F(
                "marac_area",
                "MARAC area (local authority)",
                Kind.CHOICE,
                Need.ALWAYS,
                choices=AREAS,
            ),
            F(
                "referral_type",
                "Type of referral",
                Kind.CHOICE,
                Need.ALWAYS,
                choices=REFERRAL_TYPES,
                synonyms={
                    "new": "New referral",
                    "repeat": "Repeat referral",
                    "transfer": "Transfer in from another MARAC",
                    "transfer in": "Transfer in from another MARAC",
                },
            ),
            F(
                "incident_date",
                "Date of the incident that prompted this referral",
                Kind.DATE,
                Need.ALWAYS,
            ),
            F(
                "previous_marac_date",
                "If repeat: date of previous MARAC",
                Kind.DATE,
                Need.IF_REPEAT,
                not_known_ok=True,
            ),
            F(
                "repeat_needs_discussion",
                "If repeat: does the case need further multi-agency discussion?",
                Kind.CHOICE,
                Need.IF_REPEAT,
                choices=YES_NO,
            ),
            F(
                "transfer_from",
                "If transfer: MARAC area transferring from",
                Kind.TEXT,
                Need.IF_TRANSFER,
            ),
        ),
    ),
    Section(
        "Section 2: Referrer",
        (
            F("referrer_name", "Referrer name", Kind.TEXT, Need.ALWAYS),
            F("referrer_agency", "Agency", Kind.TEXT, Need.ALWAYS),
            F("referrer_role", "Job title / role", Kind.TEXT),
            F("referrer_email", "Referrer email address", Kind.EMAIL, Need.ALWAYS),
            F("referrer_phone", "Referrer telephone number", Kind.TEXT, Need.ALWAYS),
            F(
                "referrer_attending",
                "Will you attend MARAC to present this case?",
                Kind.CHOICE,
                Need.ALWAYS,
                choices=YES_NO,
            ),
            F(
                "presenter_name",
                "If not, name and agency of the person presenting",
                Kind.TEXT,
                Need.IF_NOT_ATTENDING,
            ),
        ),
    ),
    Section(
        "Section 3: Victim",
        (
            F("victim_surname", "Victim surname", Kind.TEXT, Need.ALWAYS),
            F("victim_forenames", "Victim forename(s)", Kind.TEXT, Need.ALWAYS),
            F("victim_aliases", "Victim aliases / other names", Kind.TEXT),
            F("victim_dob", "Victim date of birth", Kind.DATE, Need.ALWAYS),
            F(
                "victim_gender",
                "Victim gender",
                Kind.CHOICE,
                Need.ALWAYS,
                not_known_ok=True,
                choices=GENDERS,
            ),
            F("victim_address", "Victim address", Kind.TEXT, Need.ALWAYS, multiline=True),
            F("victim_postcode", "Victim postcode", Kind.POSTCODE, Need.ALWAYS),
            F("victim_safe_phone", "Safe contact number for victim", Kind.TEXT),
            F("victim_ethnicity", "Victim ethnicity", Kind.TEXT),
            F(
                "victim_disability",
                "Does the victim have a disability?",
                Kind.CHOICE,
                choices=("Yes", "No", "Not known"),
            ),
            F("victim_sexual_orientation", "Victim sexual orientation", Kind.TEXT),
            F("victim_interpreter", "Interpreter needed? If yes, which language", Kind.TEXT),
            F(
                "victim_aware",
                "Is the victim aware of this referral?",
                Kind.CHOICE,
                Need.ALWAYS,
                choices=YES_NO,
            ),
            F(
                "victim_not_aware_reason",
                "If no, why has the victim not been informed?",
                Kind.TEXT,
                Need.IF_NOT_AWARE,
                multiline=True,
            ),
        ),
    ),
    Section(
        "Section 4: Perpetrator",
        (
            F("perp_surname", "Perpetrator surname", Kind.TEXT, Need.ALWAYS),
            F("perp_forenames", "Perpetrator forename(s)", Kind.TEXT, Need.ALWAYS),
            F("perp_aliases", "Perpetrator aliases / other names", Kind.TEXT),
            F("perp_dob", "Perpetrator date of birth", Kind.DATE, Need.ALWAYS, not_known_ok=True),
            F("perp_gender", "Perpetrator gender", Kind.CHOICE, choices=GENDERS),
            F(
                "perp_address",
                "Perpetrator address",
                Kind.TEXT,
                Need.ALWAYS,
                not_known_ok=True,
                multiline=True,
            ),
            F("perp_postcode", "Perpetrator postcode", Kind.POSTCODE),
            F("perp_relationship", "Relationship of perpetrator to victim", Kind.TEXT, Need.ALWAYS),
        ),
    ),
)

CHILDREN_HEADING = "Section 4a: Children and young people in the household"
NO_CHILDREN = F("no_children", "No children in the household", Kind.TICK)


@dataclass(frozen=True)
class Column:
    """A column of the children table (its cells are tagged `child_<key>`)."""

    key: str
    label: str
    kind: Kind


CHILD_COLUMNS: tuple[Column, ...] = (
    Column("name", "Full name", Kind.TEXT),
    Column("dob", "Date of birth", Kind.DATE),
    Column("gender", "Gender", Kind.TEXT),
    Column("address", "Address (if different from victim)", Kind.TEXT),
    Column("school", "School / nursery", Kind.TEXT),
    Column("relationship", "Relationship to victim / perpetrator", Kind.TEXT),
)
CHILD_ROWS_IN_BLANK = 4

PREGNANCY = F("pregnancy_due_date", "If the victim is pregnant: due date", Kind.DATE)

REASONS_HEADING = "Section 5: Reason for referral (tick all that apply)"
REASONS: tuple[FieldDef, ...] = (
    F(
        "reason_visible_high_risk",
        "Visible high risk: 14 or more ticks on the DASH risk checklist",
        Kind.TICK,
    ),
    F(
        "reason_professional_judgement",
        "Professional judgement (explain in the box below)",
        Kind.TICK,
    ),
    F(
        "reason_escalation",
        "Potential escalation: 3 or more police call-outs in the last 12 months",
        Kind.TICK,
    ),
    F("reason_repeat", "Repeat: new incident within 12 months of the last MARAC", Kind.TICK),
    F("reason_transfer", "MARAC to MARAC transfer", Kind.TICK),
)
RISK_FIELDS: tuple[FieldDef, ...] = (
    F("dash_score", "Total DASH score (number of Yes answers)", Kind.NUMBER),
    F(
        "police_callouts_12m",
        "Number of police call-outs in the last 12 months",
        Kind.NUMBER,
        Need.IF_ESCALATION,
    ),
    F(
        "pj_rationale",
        "Professional judgement: why do you believe this case is high risk?",
        Kind.TEXT,
        Need.IF_PROFESSIONAL_JUDGEMENT,
        multiline=True,
    ),
    F(
        "risk_summary",
        "Summary of the risks and the reason for this referral",
        Kind.TEXT,
        Need.ALWAYS,
        multiline=True,
    ),
)

DASH_HEADING = "Section 6: SafeLives DASH Risk Identification Checklist"
DASH_INSTRUCTION = "Tick one box for each question. Use the comments column to record context."
DASH_COLUMNS = ("No.", "Question", "Yes", "No", "Don't know", "Comments")
DASH_ANSWER_KEYS = ("yes", "no", "dont_know")
DASH_QUESTIONS: tuple[str, ...] = (
    "Has the current incident resulted in injury?",
    "Are you very frightened?",
    "What are you afraid of? Is it further injury or violence?",
    "Do you feel isolated from family/friends, i.e. does the abuser try to stop you from"
    " seeing friends, family, your doctor or others?",
    "Are you feeling depressed or having suicidal thoughts?",
    "Have you separated or tried to separate from the abuser within the past year?",
    "Is there conflict over child contact?",
    "Does the abuser constantly text, call, contact, follow, stalk or harass you?",
    "Are you pregnant or have you recently had a baby (within the last 18 months)?",
    "Is the abuse happening more often?",
    "Is the abuse getting worse?",
    "Does the abuser try to control everything you do and/or are they excessively jealous?",
    "Has the abuser ever used weapons or objects to hurt you?",
    "Has the abuser ever threatened to kill you or someone else and you believed them?",
    "Has the abuser ever attempted to strangle, choke, suffocate or drown you?",
    "Does the abuser do or say things of a sexual nature that make you feel bad or that"
    " physically hurt you or someone else?",
    "Is there any other person who has threatened you or who you are afraid of?",
    "Do you know if the abuser has hurt anyone else?",
    "Has the abuser ever mistreated an animal or the family pet?",
    "Are there any financial issues, e.g. are you dependent on the abuser for money, or have"
    " they recently lost their job?",
    "Has the abuser had problems in the past year with drugs, alcohol or mental health"
    " leading to problems in leading a normal life?",
    "Has the abuser ever threatened or attempted suicide?",
    "Has the abuser ever broken bail, an injunction and/or a formal agreement for when they"
    " can see you and/or the children?",
    "Do you know if the abuser has ever been in trouble with the police or has a criminal history?",
)

SUPPORT = Section(
    "Section 7: Support and agencies",
    (
        F(
            "idva_status",
            "IDVA referral",
            Kind.CHOICE,
            Need.ALWAYS,
            choices=IDVA_STATUSES,
            synonyms={
                "referred": "Referred to IDVA",
                "already supported": "Already supported by IDVA",
                "declined": "Victim declined IDVA",
            },
        ),
        F("idva_service", "IDVA service (if known)", Kind.TEXT),
        F("other_agencies", "Other agencies involved with the family", Kind.TEXT, multiline=True),
        F("safeguarding_actions", "Safeguarding actions already taken", Kind.TEXT, multiline=True),
    ),
)
DECLARATION = Section(
    "Section 8: Declaration",
    (
        F("declaration_name", "Name of person completing the form", Kind.TEXT, Need.ALWAYS),
        F("declaration_date", "Date", Kind.DATE),
    ),
)
del F


def dash_tag(question: int, answer: str) -> str:
    """The content-control tag of a DASH box or comment: `dash_q07_yes`, `dash_q07_comment`."""
    return f"dash_q{question:02d}_{answer}"


def value_fields() -> tuple[FieldDef, ...]:
    """Every label/value field of the form, in form order (not ticks, DASH or children)."""
    out: list[FieldDef] = []
    for section in SECTIONS:
        out.extend(section.fields)
    out.append(PREGNANCY)
    out.extend(RISK_FIELDS)
    out.extend(SUPPORT.fields)
    out.extend(DECLARATION.fields)
    return tuple(out)


def tick_fields() -> tuple[FieldDef, ...]:
    """The single tick boxes: `no_children` and the five referral reasons."""
    return (NO_CHILDREN, *REASONS)


VALUE_FIELDS: tuple[FieldDef, ...] = value_fields()
FIELDS_BY_ID: dict[str, FieldDef] = {f.id: f for f in (*VALUE_FIELDS, *tick_fields())}
FIELD_LABELS: dict[str, str] = {
    **{f.id: f.label for f in FIELDS_BY_ID.values()},
    "child_name": "Children: full name",
    "child_dob": "Children: date of birth",
    "children": "Children in the household (or tick 'No children in the household')",
    **{f"dash_q{n:02d}": f"DASH question {n}" for n in range(1, 25)},
}
