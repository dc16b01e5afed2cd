"""What every page handler needs, passed in once when the app is built (no globals).

The web page is one more front end on the same objects the CLI uses: the `Context` (config,
store, casebook, dispatch, clock) and `mailbot.actions`. Handlers find this context on the app's
state, and render through one function that adds the logged-in user, the CSRF token and the
one-off message every page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from mailbot.config.mail import WebSettings
from mailbot.context import Context
from mailbot.models import Clock
from mailbot.web.lockout import LoginThrottle
from mailbot.web.sessions import Session, Sessions, tokens_match
from mailbot.web.users import Users

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEE_OTHER = 303


class LoginRequired(Exception):
    """No live session: the handler answers with the login page instead."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


@dataclass
class Web:
    ctx: Context
    users: Users
    sessions: Sessions
    throttle: LoginThrottle
    settings: WebSettings
    clock: Clock
    env: jinja2.Environment = field(
        default_factory=lambda: jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )

    @property
    def cookie_name(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless Secure, path=/, no domain.
        return "__Host-mailbot_session" if self.settings.cookie_secure else "mailbot_session"

    def today(self) -> date:
        return self.clock.now().astimezone(self.ctx.config.zone).date()


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def session_of(request: Request) -> Session:
    """The request's live session; LoginRequired when there is none (or the account was
    disabled since)."""
    web = web_of(request)
    session = web.sessions.get(request.cookies.get(web.cookie_name))
    if session is None or not web.users.is_active(session.user):
        raise LoginRequired
    request.state.user = session.user
    return session


async def checked_form(request: Request, session: Session) -> dict[str, Any]:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await request.form(max_files=0, max_fields=200)
    values: dict[str, Any] = {
        k: form.getlist(k) if len(form.getlist(k)) > 1 else form[k] for k in form
    }
    token = values.get("csrf")
    if not isinstance(token, str) or not tokens_match(token, session.csrf):
        raise CsrfRefused
    return values


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    status: int = 200,
) -> HTMLResponse:
    web = web_of(request)
    flash = web.sessions.pop_flash(session) if session is not None else None
    html = web.env.get_template(name).render(
        user=session.user if session else None,
        csrf=session.csrf if session else "",
        flash=flash,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=SEE_OTHER)
