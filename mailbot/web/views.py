"""What the pages show, shaped from the casebook, kept apart from HTTP and HTML.

An administrator should be able to decide a held referral from one screen: why it is held in
words (not codes), what was already tried, every field read from the form with the missing
and invalid ones marked, and, for a possible repeat, this referral and the earlier cases side
by side. These functions build plain dictionaries for the templates, so they can be tested
without a browser and reused by `mailbot queue show`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from mailbot import formdef
from mailbot.actions import NOT_A_REFERRAL, form_report
from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import Known, information_only, listed_cases
from mailbot.cases.lifecycle import referrals as lifecycle_referrals
from mailbot.codes import Reason, describe, invalid_field, missing_field
from mailbot.context import Context
from mailbot.models import HistoryEntry, OpenCase, Outcome

_NOT_COMPARED = frozenset({"MARAC date"})  # always differs, even for the same person
HELD_REASONS = (
    Reason.CANNOT_DECRYPT,
    Reason.CHAIR_REVIEW,
    Reason.POSSIBLE_REPEAT,
    Reason.OPEN_CASE_IN_QUEUE,
    Reason.MULTIPLE_FORMS,
    Reason.TOO_MANY_ATTACHMENTS,
    Reason.PROCESSING_ERROR,
)
_SHOWN_SECTIONS = (
    *formdef.SECTIONS,
    formdef.Section(formdef.REASONS_HEADING, (formdef.PREGNANCY, *formdef.RISK_FIELDS)),
    formdef.SUPPORT,
    formdef.DECLARATION,
)


def words(code: str) -> str:
    """A reason code in words, including the one only an administrator gives."""
    if code == NOT_A_REFERRAL:
        return "Discarded by an administrator: not a referral (no reply was sent)."
    return describe(code)


def age_words(delta: timedelta) -> str:
    """'3 days', '5 hours', 'under an hour': how long an item has waited."""
    hours = max(0, int(delta.total_seconds() // 3600))
    if hours < 1:
        return "under an hour"
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours // 24} days"


def queue_rows(
    ctx: Context, now: datetime, reason: str = "", area: str = ""
) -> list[dict[str, Any]]:
    """The held cases, oldest first, optionally of one reason and one area ('-': none)."""
    rows = []
    for case in ctx.casebook.cases([Outcome.HELD]):
        first = case.decision.reasons[0] if case.decision.reasons else ""
        if reason and reason not in case.decision.reasons:
            continue
        if area and (case.area or "-") != area:
            continue
        rows.append(
            {
                "reference": case.reference,
                "received": local(ctx, case.received_at),
                "age": age_words(now - case.received_at),
                "agency": agency_of(case),
                "area": case.area or "not known",
                "reason": first,
                "why": describe(first) if first else "",
            }
        )
    return rows


def other_rows(ctx: Context) -> list[dict[str, Any]]:
    """Other mail (no referral at all, never answered), newest first: what a person needs to
    recognise it and answer it by hand if it needs an answer. No body: that stays in the
    Processed folder."""
    rows = []
    for case in reversed(ctx.casebook.cases([Outcome.OTHER])):
        rows.append(
            {
                "reference": case.reference,
                "received": local(ctx, case.received_at),
                "received_at": case.received_at.isoformat(),
                "sender_domain": case.sender.rpartition("@")[2] or "no sender",
                "subject": case.subject or "(no subject)",
            }
        )
    return rows


def local(ctx: Context, when: datetime) -> str:
    return when.astimezone(ctx.config.zone).strftime("%a %d %b %Y %H:%M")


def agency_of(case: CaseRecord) -> str:
    return case.agency or f"unknown agency ({case.sender.rpartition('@')[2] or 'no sender'})"


def tried(ctx: Context, case: CaseRecord) -> str:
    """What mailbot already tried, in words (no password is ever shown)."""
    if Reason.CANNOT_DECRYPT not in case.decision.reasons:
        return ""
    agency = ctx.config.agency_for(case.sender)
    if agency is None:
        return (
            "The sender is not one of the configured agencies, so there was no agreed"
            " password to try."
        )
    count = len(ctx.secrets.passwords_for(agency.id))
    if count == 0:
        return f"No password is agreed with {agency.name}, so none could be tried."
    return (
        f"The {count} password{'s' if count != 1 else ''} agreed with {agency.name}"
        f" did not open the document."
    )


def field_sections(ctx: Context, case: CaseRecord, today: date) -> list[dict[str, Any]]:
    """Every field of the form by section, each marked 'missing', 'invalid' or ''."""
    if case.form is None:
        return []
    form = case.form
    codes = set(form_report(ctx, form, today).codes)
    ticked = [f.label for f in formdef.REASONS if form.ticked(f.id)]
    reasons_state = "missing" if Reason.NO_REASON_TICKED in codes else ""
    # Section 5 once: the reasons ticked and the DASH count, then its risk fields.
    reasons = [
        {"label": "Reasons ticked", "value": "; ".join(ticked), "state": reasons_state},
        {
            "label": "DASH Yes answers ticked (counted)",
            "value": str(form.dash_yes_count),
            "state": "",
        },
    ]
    sections = []
    for section in _SHOWN_SECTIONS:
        rows = list(reasons) if section.title == formdef.REASONS_HEADING else []
        for f in section.fields:
            state = (
                "missing"
                if missing_field(f.id) in codes
                else "invalid"
                if invalid_field(f.id) in codes
                else ""
            )
            rows.append({"label": f.label, "value": form.value(f.id), "state": state})
        sections.append({"title": section.title, "rows": rows})
    children = [
        {
            "label": f"Child {n}",
            "value": ", ".join(v for v in (c.name, c.dob, c.relationship) if v),
            "state": "missing" if not (c.name and c.dob) else "",
        }
        for n, c in enumerate(form.children, start=1)
    ]
    if not children:
        children = [
            {
                "label": "Children",
                "value": "No children in the household" if form.ticked("no_children") else "",
                "state": "missing" if missing_field("children") in codes else "",
            }
        ]
    sections.insert(4, {"title": formdef.CHILDREN_HEADING, "rows": children})
    return sections


def comparison(ctx: Context, case: CaseRecord, today: date) -> dict[str, Any] | None:
    """This referral's victim and each possible earlier case, side by side."""
    wanted = [
        *case.decision.possible_repeats,
        *([case.decision.repeat_of] if case.decision.repeat_of else []),
    ]
    if not wanted or case.form is None:
        return None
    victim = form_report(ctx, case.form, today).facts.victim
    known = ctx.casebook.known(victim, today) if victim else Known()
    # An open case is shown as a hearing at its meeting to come (or none yet, when held).
    found = [
        *known.hearings,
        *(
            HistoryEntry(
                reference=c.reference,
                area=c.area,
                marac_date=c.meeting_date or today,
                person=c.person,
            )
            for c in known.open_cases
        ),
    ]
    still_open = {c.reference: c for c in known.open_cases}
    earlier = [h for ref in dict.fromkeys(wanted) for h in found if h.reference == ref]
    columns = [_column_of_form(case, "This referral")]
    columns += [_column_of_hearing(ctx, h, still_open.get(h.reference)) for h in earlier]
    labels = [
        "Surname",
        "Forename(s)",
        "Aliases",
        "Date of birth",
        "Area",
        "MARAC date",
        "Address",
        "Postcode",
        "Perpetrator",
    ]
    rows = []
    for label in labels:
        values = [c["values"].get(label, "") for c in columns]
        differs = label not in _NOT_COMPARED and len({v.strip().lower() for v in values if v}) > 1
        rows.append({"label": label, "cells": values, "differs": differs})
    return {"columns": columns, "rows": rows}


def _column_of_form(case: CaseRecord, title: str) -> dict[str, Any]:
    assert case.form is not None
    v = case.form.value
    return {
        "title": title,
        "reference": case.reference,
        "values": {
            "Surname": v("victim_surname"),
            "Forename(s)": v("victim_forenames"),
            "Aliases": v("victim_aliases"),
            "Date of birth": v("victim_dob"),
            "Area": case.area or "",
            "MARAC date": "this referral",
            "Address": " ".join(v("victim_address").split()),
            "Postcode": v("victim_postcode"),
            "Perpetrator": " ".join(x for x in (v("perp_forenames"), v("perp_surname")) if x),
        },
    }


def _column_of_hearing(
    ctx: Context, hearing: HistoryEntry, still_open: OpenCase | None = None
) -> dict[str, Any]:
    p = hearing.person
    when = hearing.marac_date.strftime("%d/%m/%Y")
    if still_open is not None:
        when = f"listed for {when}" if still_open.meeting_date else "held in the queue"
    values = {
        "Surname": p.surname,
        "Forename(s)": p.forenames,
        "Aliases": "; ".join(p.aliases),
        "Date of birth": p.dob.strftime("%d/%m/%Y") if p.dob else "",
        "Area": hearing.area or "",
        "MARAC date": when,
    }
    earlier = ctx.casebook.get(hearing.reference)
    if earlier is not None and earlier.form is not None:
        own = _column_of_form(earlier, "")["values"]
        values.update({k: own[k] for k in ("Address", "Postcode", "Perpetrator")})
    title = "Open case" if still_open is not None else "Earlier case"
    return {
        "title": f"{title} {hearing.reference}",
        "reference": hearing.reference,
        "values": values,
    }


def meeting_groups(
    ctx: Context, today: date, days: int = 28, area: str | None = None
) -> list[dict[str, Any]]:
    """Upcoming meetings, each with the cases listed at it."""
    conn = ctx.store.conn
    groups = []
    for load in ctx.listings.upcoming(today, days, area):
        m = load.meeting
        cases = []
        for case_ref in listed_cases(conn, m.area, m.date):
            referrals = [
                r
                for r in map(ctx.casebook.get, lifecycle_referrals(conn, case_ref))
                if r is not None
            ]
            if not referrals:
                continue
            cases.append(
                {
                    "reference": case_ref,
                    "agency": ", ".join(dict.fromkeys(agency_of(r) for r in referrals)),
                    "info_only": information_only(conn, case_ref),
                    "repeat_of": referrals[0].decision.repeat_of,
                }
            )
        groups.append(
            {
                "area": m.area,
                "date": m.date,
                "time": f"{m.time:%H:%M}",
                "venue": m.venue,
                "agenda_date": m.agenda_date,
                "agenda_sent": load.agenda_sent,
                "capacity": m.capacity,
                "discussion": load.discussion,
                "cases": cases,
            }
        )
    return groups


def audit_rows(
    ctx: Context,
    *,
    reference: str = "",
    actor: str = "",
    page_views: bool = False,
    limit: int = 300,
) -> list[dict[str, Any]]:
    """The newest audit entries first, filtered; page views only when asked for."""
    sql = "SELECT * FROM audit WHERE 1 = 1"
    params: list[Any] = []
    if reference:
        sql, params = sql + " AND reference = ?", [*params, reference]
    if actor:
        sql, params = sql + " AND actor = ?", [*params, actor]
    if not page_views:
        sql += " AND action != 'web_request'"
    rows = ctx.store.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
    return [{**r, "at": local(ctx, datetime.fromisoformat(r["at"]))} for r in rows]
