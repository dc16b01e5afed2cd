"""Reason, warning and criterion codes, with their texts in plain English.

Codes are for machines (reports, filters, tests); people need a sentence that says what is
wrong and how to fix it. `missing_field:<id>` and `invalid_field:<id>` take the field's label
from the form definition, so the advice names the box the referrer must fill.
"""

from __future__ import annotations

from mailbot.formdef import FIELD_LABELS, FIELDS_BY_ID, Kind

REASONS: dict[str, str] = {
    "wrong_form": "The document is not the West Midlands MARAC Referral Form (v3.1). Only the"
    " official form is accepted: download it again and fill it in.",
    "no_attachment": "No referral form was attached to the email.",
    "not_word_document": "The attachment is not a Word document (for example a PDF, scan or"
    " image). Send the official form as a Word (.docx) file.",
    "legacy_word_format": "The form was saved in the old Word 97-2003 (.doc) format. Save it"
    " as a Word Document (.docx) and send it again.",
    "macro_content": "The document contains macros, which are not accepted for security"
    " reasons. Save the form as a plain Word Document (.docx) and send it again.",
    "active_content": "The document contains active content (a template, picture or text"
    " linked from another computer, a field that fetches files or runs programs, or an"
    " embedded or linked object), which is not accepted for security reasons. Save the form"
    " as a plain Word Document (.docx) without embedded objects or linked pictures and send"
    " it again.",
    "unreadable_document": "The document could not be read: it is damaged, truncated, too"
    " large, or nested too deeply in the email (forwards inside forwards). Save the form again"
    " and attach it directly to a new email.",
    "no_reason_ticked": "No reason for referral is ticked in Section 5. Tick every reason that"
    " applies.",
    "threshold_not_met": "The referral does not meet the MARAC threshold: fewer than 14 Yes"
    " answers on the DASH checklist, and no professional judgement rationale (20 words or"
    " more), escalation (3 or more police call-outs in 12 months), repeat or transfer.",
    "victim_under_16": "The victim is under 16. Child protection procedures apply, not MARAC:"
    " refer to children's social care.",
    "duplicate": "This referral was already received.",
    "cannot_decrypt": "The document is password protected and none of the agreed passwords"
    " opens it. Send the password in a separate email with 'password' in the subject, or"
    " phone it through.",
    "chair_review": "The referral is below the threshold and is waiting for the MARAC Chair"
    " to decide.",
    "possible_repeat": "The victim may have been heard at MARAC before, or may be the victim"
    " of a case already open; an administrator is checking the other case.",
    "open_case_in_queue": "The victim already has a referral waiting in the exceptions queue;"
    " this one, below the threshold on its own, waits beside it for the same decision.",
    "multiple_forms": "More than one referral form was attached to one email; an"
    " administrator will separate them.",
    "too_many_attachments": "The email carries more attachments than are checked"
    " automatically; an administrator will find the referral form among them.",
    "not_a_referral": "An administrator decided this email is not a MARAC referral.",
    "processing_error": "Something unexpected went wrong while reading the referral; an"
    " administrator is looking at it.",
}

WARNINGS: dict[str, str] = {
    "insecure_transport": "The form was sent unencrypted from an email address that is not"
    " on a secure domain. Next time, password-protect the document with your agency's agreed"
    " password, or send it from a secure email account.",
    "dash_score_mismatch": "The DASH score written on the form differs from the number of Yes"
    " answers ticked; the ticked answers were counted.",
    "repeat_detected": "The victim was heard at MARAC within the last 12 months, so this is a"
    " repeat referral although the form does not say so.",
    "desktop_review": "This is the victim's fourth MARAC in six months: a desktop review is"
    " due.",
    "young_person": "The victim is 16 or 17: child protection procedures take precedence, and"
    " the Chair is told.",
    "reason_not_ticked": "No reason for referral was ticked in Section 5, but the referral"
    " meets the criteria listed above; next time, tick every reason that applies.",
    "already_listed": "The victim's case is already listed at this meeting; this referral was"
    " added to it.",
    "below_threshold_joined": "On its own this referral does not meet the MARAC threshold; it"
    " was added to the victim's open case because its information matters at that meeting.",
    "chair_accepted": "Below the threshold, accepted by the MARAC Chair.",
}

CRITERIA: dict[str, str] = {
    "visible_high_risk": "Visible high risk (14 or more Yes answers on the DASH checklist)",
    "professional_judgement": "Professional judgement",
    "escalation": "Potential escalation (3 or more police call-outs in 12 months)",
    "repeat": "Repeat (a new incident within 12 months of the last MARAC)",
    "transfer": "MARAC to MARAC transfer",
}

# The rule behind each code, quoted in replies so the referrer sees why, not just what.
RULES: dict[str, str] = {
    "missing_field": "Mandatory fields of the referral form must be completed, or the"
    " referral is returned with advice.",
    "invalid_field": "Each field must hold a valid answer of its kind (dates, email address,"
    " UK postcode, the drop-down choices).",
    "no_reason_ticked": "At least one reason for referral must be ticked in Section 5.",
    "threshold_not_met": "MARAC referral criteria: visible high risk (14 or more Yes answers"
    " on the DASH checklist), professional judgement, potential escalation (3 or more police"
    " call-outs in 12 months), a repeat within 12 months of the last MARAC, or a transfer.",
    "wrong_form": "Since 1 April 2019 the West Midlands MARAC Referral Form is the only form"
    " accepted by the seven West Midlands MARACs.",
    "not_word_document": "Referrals must be the official form, saved in Word (.docx).",
    "legacy_word_format": "Referrals must be the official form, saved in Word (.docx).",
    "macro_content": "Documents with macros are refused to protect partners' systems.",
    "active_content": "Documents with active content (macros, remote templates, linked"
    " pictures, fields that fetch files or run programs such as DDE, embedded or linked"
    " objects) are refused to protect partners' systems.",
    "unreadable_document": "Referrals must be the official form, saved in Word (.docx).",
    "no_attachment": "The referral form must be attached to the email.",
    "victim_under_16": "MARAC is for victims aged 16 and over; for younger victims child"
    " protection procedures apply.",
    "duplicate": "Each referral is listed once.",
}

_KIND_ADVICE = {
    Kind.DATE: "write it as a date such as 03/07/1991, not in the future",
    Kind.CHOICE: "choose one of the options in the drop-down list",
    Kind.EMAIL: "write a full email address such as name@agency.gov.uk",
    Kind.POSTCODE: "write a full UK postcode such as WV1 1AA",
    Kind.NUMBER: "write a whole number",
}


def rule(code: str) -> str:
    """The rule behind a reason code ('' when there is nothing to add)."""
    return RULES.get(code.partition(":")[0], "")


def describe(code: str) -> str:
    """One sentence a referrer or administrator can act on."""
    kind, _, field_id = code.partition(":")
    if kind == "missing_field":
        return f"'{FIELD_LABELS.get(field_id, field_id)}' is empty: it must be filled in."
    if kind == "invalid_field":
        label = FIELD_LABELS.get(field_id, field_id)
        if field_id == "pj_rationale":
            return f"'{label}' is too short: explain the professional judgement in at least" \
                   " 20 words."
        field = FIELDS_BY_ID.get(field_id)
        advice = _KIND_ADVICE.get(field.kind if field else Kind.DATE, "correct it")
        return f"'{label}' is not valid: {advice}."
    for table in (REASONS, WARNINGS, CRITERIA):
        if code in table:
            return table[code]
    return code
