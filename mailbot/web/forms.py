"""The action forms of a case page: each POST calls the one implementation in
`mailbot.actions` (the CLI calls the same), then redirects back to the case.

Post/redirect/get: the result is shown once, as the next page's message, so reloading the
page never repeats an action. Every POST must carry the session's CSRF token. The password
and the note are read from the form and handed to the action only: never echoed into a
page, a message or a log.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from mailbot import actions
from mailbot.cases.casebook import CaseRecord
from mailbot.codes import FieldProblem
from mailbot.models import Outcome
from mailbot.web.context import Web, checked_form, redirect, session_of, web_of
from mailbot.web.sessions import Session


def _values(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key, [])
    return [str(v) for v in (value if isinstance(value, list) else [value]) if str(v)]


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key, "")
    return str(value[0] if isinstance(value, list) else value)


def outcome_message(web: Web, case: CaseRecord) -> str:
    d = case.decision
    if d.outcome in (Outcome.ACCEPTED, Outcome.INFO_ONLY):
        how = "accepted" if d.outcome is Outcome.ACCEPTED else "listed for information only"
        where = (
            f", listed at the {case.area} MARAC on {case.meeting_date:%A %d %B %Y}"
            if case.meeting_date
            else ", but no meeting had room: list it by hand"
        )
        return (
            f"{case.reference} {how}{where}. The confirmation and the IDVA alert are in the outbox."
        )
    if d.outcome is Outcome.RETURNED and d.reasons == (actions.NOT_A_REFERRAL,):
        return f"{case.reference} discarded as not a referral. No reply was sent."
    if d.outcome is Outcome.RETURNED:
        return f"{case.reference} returned. The reply with the advice is in the outbox."
    return f"{case.reference} opened, and held again: {', '.join(d.reasons)}."


async def _act(request: Request, action: str) -> Response:
    session = session_of(request)
    web = web_of(request)
    form = await checked_form(request, session)
    reference = str(request.path_params["reference"])
    back = f"/case/{quote(reference, safe='')}"
    try:
        message = _dispatch(web, session, action, reference, form)
    except actions.ActionError as exc:
        message = f"Not done: {exc}."
    web.sessions.set_flash(session, message)
    return redirect(back)


def _dispatch(web: Web, session: Session, action: str, reference: str, form: dict[str, Any]) -> str:
    ctx, actor = web.ctx, session.user
    if action == "retry":
        case = actions.retry_password(ctx, reference, _text(form, "password"), actor)
    elif action == "accept":
        case = actions.accept(ctx, reference, _values(form, "criteria"), actor)
    elif action == "return":
        reasons = _values(form, "reasons")
        extra_field, kind = _text(form, "extra_field"), _text(form, "extra_kind")
        if extra_field:
            reasons.append(f"{kind or FieldProblem.MISSING}:{extra_field}")
        note = _text(form, "note")
        if note.strip() and _text(form, "note_checked") != "yes":
            raise actions.ActionError(
                "tick the box to confirm the note holds no personal"
                " details, or leave the note empty"
            )
        case = actions.return_with_advice(ctx, reference, reasons, note, actor)
    elif action == "link":
        case = actions.link_repeat(ctx, reference, _text(form, "earlier"), actor)
    elif action == "new-person":
        case = actions.mark_new_person(ctx, reference, actor)
    elif action == "discard":
        if _text(form, "confirm") != "yes":
            raise actions.ActionError("tick the box to confirm it is not a referral")
        case = actions.discard(ctx, reference, _text(form, "reason"), actor)
    elif action == "list-at":
        try:
            day = date.fromisoformat(_text(form, "date"))
        except ValueError:
            raise actions.ActionError("choose a meeting date") from None
        meeting = actions.list_at(
            ctx, reference, day, actor, addendum=_text(form, "addendum") == "yes"
        )
        return (
            f"{reference} listed at the {meeting.area} MARAC on {meeting.date:%A %d %B %Y}"
            f" {meeting.time:%H:%M}. The referrer and the IDVA service will be told."
        )
    else:  # the routes only send the names above
        raise actions.ActionError(f"unknown action {action}")
    return outcome_message(web, case)


def handler(action: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _act(request, action)

    endpoint.__name__ = f"action_{action.replace('-', '_')}"
    return endpoint


ACTIONS = ("retry", "accept", "return", "link", "new-person", "discard", "list-at")
