"""Serving the web page with uvicorn: on its own (`mailbot web`) or inside the daemon.

Inside the daemon the page runs in a thread with its own database connection: the daemon's
connection is used by the intake loop, and SQLite connections must not be shared by two
threads mid-transaction (WAL and the busy timeout let the two connections take turns).
uvicorn's access log is off, because it would write query strings to the journal; the
audit log records every request instead (`mailbot.web.guard`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from mailbot.app import App
from mailbot.errors import MailbotError
from mailbot.logs import get_logger
from mailbot.store import Store
from mailbot.web.app import create_app

STARTUP_SECONDS = 10.0


def server_for(app: Starlette, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        lifespan="off",
    )
    return uvicorn.Server(config)


def serve(app: App) -> None:
    """Serve until SIGINT/SIGTERM, in the foreground (`mailbot web`)."""
    settings = app.config.web
    get_logger().info("web.started", path=f"http://{settings.host}:{settings.port}/")
    server_for(create_app(app.ctx, settings), settings.host, settings.port).run()


def start_web(app: App) -> Callable[[], None]:
    """Serve the page in a thread of this process; return the function that stops it.

    For `mailbot run` when `[web] enabled = true`: call it after opening the app and call
    the returned function before closing it.
    """
    settings = app.config.web
    store = Store(app.config.database_path)
    # Its own connection, the daemon's running configuration: a reload reaches the page too.
    ctx = app.ctx.beside(store)
    server = server_for(create_app(ctx, settings), settings.host, settings.port)
    thread = threading.Thread(target=server.run, name="mailbot-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            store.close()
            raise MailbotError(f"the web page could not listen on {settings.host}:{settings.port}")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        store.close()

    return stop
