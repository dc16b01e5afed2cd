"""The web application: routes, the guard around them, and what happens on refusal.

Built from the `mailbot.context.Context` like every other front end, so tests hand in a
temporary database and a fixed clock. Every page but the login form and the stylesheet needs
a session; a request without one is sent to the login page, and a POST whose CSRF token is
wrong is refused with 403 before any action runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mailbot.config.mail import WebSettings
from mailbot.context import Context
from mailbot.models import Clock
from mailbot.web import auth, forms, pages
from mailbot.web.context import CsrfRefused, LoginRequired, Web, redirect, render
from mailbot.web.guard import Guard
from mailbot.web.lockout import LoginThrottle
from mailbot.web.sessions import Sessions
from mailbot.web.users import Users

STATIC = Path(__file__).resolve().parent / "static"
FORBIDDEN = 403


def create_app(
    ctx: Context,
    settings: WebSettings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Starlette:
    """The ASGI app for `ctx`'s database; `clock` and `hasher` are for tests."""
    clock = clock or ctx.clock
    users = Users(ctx.store, hasher)
    web = Web(
        ctx=ctx,
        users=users,
        settings=settings,
        clock=clock,
        sessions=Sessions(
            ctx.store,
            clock,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        ),
        throttle=LoginThrottle(ctx.store, clock, users.exists),
    )
    routes = [
        Route("/", pages.queue, methods=["GET"]),
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/case/{reference}", pages.case_page, methods=["GET"]),
        *(
            Route(f"/case/{{reference}}/{name}", forms.handler(name), methods=["POST"])
            for name in forms.ACTIONS
        ),
        Route("/meetings", pages.meetings, methods=["GET"]),
        Route("/audit", pages.audit, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, store=ctx.store, allowed_hosts=settings.allowed_hosts)],
        exception_handlers={
            LoginRequired: _to_login,
            CsrfRefused: _csrf_refused,
            HTTPException: _http_error,
        },
    )
    app.state.web = web
    return app


async def _to_login(request: Request, exc: Exception) -> Response:
    return redirect("/login")


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": "Form refused",
            "message": "This form had expired or did not come from"
            " this page, so nothing was done. Go back, reload the page and try again.",
        },
        status=FORBIDDEN,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
