"""Logging in and out with a named account.

The login form has no session yet, so its CSRF token is a random value in a short-lived
cookie that the form must repeat (double submit); a page on another site can neither read
the cookie nor set it. A new session token is issued at every login (no fixation), a name or
a client address that keeps failing is locked for a while (`lockout`, in the database), and
failures are audited under the name only when it is an account (a password typed into the
name box must not land in the audit log).

Checking a password is Argon2 hashing, tens of milliseconds of CPU on purpose: it runs in a
worker thread, so one login never stalls the page for everyone else, and two logins hash
side by side. Only the hashing leaves the event loop; the database is read and written
around it, on the loop, as every other request does.
"""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailbot.web.context import (
    LoginRequired,
    checked_form,
    redirect,
    render,
    session_of,
    web_of,
)
from mailbot.web.sessions import tokens_match

LOGIN_COOKIE = "mailbot_login"
LOCKED = {
    "name": "Too many failed logins for this name. Wait 15 minutes or ask a colleague to"
    " reset the password.",
    "address": "Too many failed logins from this computer. Wait 15 minutes and try again.",
}


async def login_page(request: Request) -> Response:
    try:
        session_of(request)
        return redirect("/")
    except LoginRequired:
        pass
    return _login_form(request, None)


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await request.form(max_files=0, max_fields=10)
    token = request.cookies.get(LOGIN_COOKIE)
    if token is None or not tokens_match(str(form.get("csrf", "")), token):
        return _login_form(request, "The login form had expired. Please try again.", 403)
    name = str(form.get("name", "")).strip().lower()
    password = str(form.get("password", ""))
    address = request.client.host if request.client else "unknown"
    lock = web.throttle.locked(name, address)
    if lock is not None:
        _audit(request, name, "login_locked", lock)
        return _login_form(request, LOCKED[lock], 429)
    credential = web.users.credential(name)
    matched = await run_in_threadpool(web.users.matches, credential, password)
    # The password may have changed, or the account been disabled, while it was hashed.
    if not matched or web.users.credential(name) != credential:
        web.throttle.failed(name, address)
        _audit(request, name, "login_failed")
        return _login_form(request, "That name and password do not match an account.", 401)
    new_hash = await run_in_threadpool(web.users.rehashed, credential, password)
    if new_hash is not None:
        web.users.save_rehash(credential, new_hash)
    web.throttle.succeeded(name)
    cookie, _ = web.sessions.create(name)
    request.state.user = name
    _audit(request, name, "login")
    response = redirect("/")
    response.set_cookie(
        web.cookie_name,
        cookie,
        httponly=True,
        samesite="strict",
        secure=web.settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    web = web_of(request)
    session = session_of(request)
    await checked_form(request, session)
    web.sessions.end(session)
    _audit(request, session.user, "logout")
    response = redirect("/login")
    response.delete_cookie(web.cookie_name, path="/")
    return response


def _login_form(request: Request, error: str | None, status: int = 200) -> Response:
    web = web_of(request)
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"title": "Log in", "error": error, "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=web.settings.cookie_secure,
        path="/login",
    )
    return response


def _audit(request: Request, name: str, action: str, lock: str = "") -> None:
    web = web_of(request)
    store = web.ctx.store
    detail = f"via=web lock={lock}" if lock else "via=web"
    with store.transaction() as conn:
        store.audit(conn, name if web.users.exists(name) else "unknown-name", action, None, detail)
