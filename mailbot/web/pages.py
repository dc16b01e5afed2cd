"""The pages an administrator reads: the queue, one case, the meetings, the audit log.

Read-only handlers: each checks the session first (personal data only to a logged-in user),
then shapes what `mailbot.web.views` gives into its template. Filters are GET forms, so they
work without JavaScript and a filtered queue can be bookmarked.
"""

from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response

from mailbot.actions import DISCARD_REASONS, form_report, note_recipients
from mailbot.cases.casebook import CaseRecord
from mailbot.codes import CRITERIA, ReasonCode, describe
from mailbot.context import Context
from mailbot.dispatch.advice import RETURN_CODES, is_return_code
from mailbot.formdef import AREAS, FIELD_LABELS, VALUE_FIELDS
from mailbot.models import Outcome
from mailbot.web import views
from mailbot.web.context import render, session_of, web_of

LIST_AT_WEEKS = 8


async def queue(request: Request) -> Response:
    session = session_of(request)
    web = web_of(request)
    reason = request.query_params.get("reason", "")
    area = request.query_params.get("area", "")
    rows = views.queue_rows(
        web.ctx,
        web.clock.now(),
        reason if reason in views.HELD_REASONS else "",
        area if area in (*AREAS, "-") else "",
    )
    return render(
        request,
        "queue.html",
        {
            "title": "Exceptions queue",
            "rows": rows,
            "other": views.other_rows(web.ctx),
            "reason": reason,
            "area": area,
            "reasons": [(r, describe(r)) for r in views.HELD_REASONS],
            "areas": AREAS,
        },
        session=session,
    )


async def case_page(request: Request) -> Response:
    session = session_of(request)
    web = web_of(request)
    ctx = web.ctx
    reference = request.path_params["reference"]
    case = ctx.casebook.get(reference)
    if case is None:
        return render(
            request,
            "error.html",
            {"title": "Not found", "message": f"There is no case {reference}."},
            session=session,
            status=404,
        )
    today = web.today()
    d = case.decision
    sections = views.field_sections(ctx, case, today)
    marked = [r["state"] for s in sections for r in s["rows"]]
    secure, insecure = note_recipients(ctx, case)
    meetings = []
    if d.outcome in (Outcome.ACCEPTED, Outcome.INFO_ONLY) and case.area:
        end = today + timedelta(weeks=LIST_AT_WEEKS)
        meetings = ctx.listings.calendar.meetings(case.area, today, end)
    field_codes = _field_codes(ctx, case, today)
    return render(
        request,
        "case.html",
        {
            "title": f"Case {reference}",
            "case": case,
            "decision": d,
            "outcome": d.outcome.value,
            "held": d.outcome is Outcome.HELD,
            "received": views.local(ctx, case.received_at),
            "age": views.age_words(web.clock.now() - case.received_at),
            "agency": views.agency_of(case),
            "reasons": [(c, views.words(c)) for c in d.reasons],
            "warnings": [(c, describe(c)) for c in d.warnings],
            "criteria_met": [(c, describe(c)) for c in d.criteria],
            "tried": views.tried(ctx, case),
            "sections": sections,
            "has_problems": any(marked),
            "comparison": views.comparison(ctx, case, today),
            "criteria": list(CRITERIA.items()),
            "return_codes": [
                (c, describe(c), c in d.reasons or c in field_codes)
                for c in (*RETURN_CODES, *field_codes)
            ],
            "fields": [(f.id, FIELD_LABELS[f.id]) for f in VALUE_FIELDS],
            "note_secure": secure,
            "note_insecure": insecure,
            "discard_reasons": list(DISCARD_REASONS.items()),
            "meetings": meetings,
            "messages": ctx.dispatch.outbox.messages(reference),
            "history": views.audit_rows(ctx, reference=reference),
        },
        session=session,
    )


def _field_codes(ctx: Context, case: CaseRecord, today: date) -> list[ReasonCode]:
    """The missing/invalid field codes of the case and of its form checked again today."""
    codes = list(case.decision.reasons)
    if case.form is not None:
        codes += form_report(ctx, case.form, today).codes
    return [c for c in dict.fromkeys(codes) if ":" in c and is_return_code(c)]


async def meetings(request: Request) -> Response:
    session = session_of(request)
    web = web_of(request)
    area = request.query_params.get("area", "")
    chosen = area if area in web.ctx.config.areas else None
    only_listed = request.query_params.get("listed") == "yes"
    groups = [
        g
        for g in views.meeting_groups(web.ctx, web.today(), 28, chosen)
        if g["cases"] or not only_listed
    ]
    return render(
        request,
        "meetings.html",
        {
            "title": "Upcoming meetings",
            "groups": groups,
            "area": area,
            "only_listed": only_listed,
            "areas": sorted(web.ctx.config.areas),
        },
        session=session,
    )


async def audit(request: Request) -> Response:
    session = session_of(request)
    web = web_of(request)
    q = request.query_params
    rows = views.audit_rows(
        web.ctx,
        reference=q.get("reference", "").strip(),
        actor=q.get("actor", "").strip(),
        page_views=q.get("page_views") == "yes",
    )
    return render(
        request,
        "audit.html",
        {
            "title": "Audit log",
            "rows": rows,
            "reference": q.get("reference", ""),
            "actor": q.get("actor", ""),
            "page_views": q.get("page_views") == "yes",
        },
        session=session,
    )
