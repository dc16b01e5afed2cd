"""The daemon's periodic distribution jobs, assembled in one place for `App.jobs()`.

Each job is idempotent and cheap when there is nothing to do, because the runner calls it on
every pass: agendas (and addenda) that are due, the late-minutes reminder, flag-expiry
notices and, when a watch folder is configured, minutes dropped into it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mailbot.meetings.agendas import Agendas
from mailbot.meetings.flags import FlagExpiry
from mailbot.meetings.minutes_jobs import Minutes, MinutesWatch
from mailbot.meetings.services import Services

Job = tuple[str, Callable[[datetime], None]]


def distribution_jobs(ctx: Services) -> list[Job]:
    minutes = Minutes(ctx)
    jobs: list[Job] = [
        ("agenda", Agendas(ctx).run),
        ("minutes_late", minutes.remind_late),
        ("flag_expiry", FlagExpiry(ctx).run),
    ]
    watch_dir = ctx.config.minutes.watch_dir
    if watch_dir is not None:
        jobs.append(("minutes_watch", MinutesWatch(minutes, watch_dir).run))
    return jobs
