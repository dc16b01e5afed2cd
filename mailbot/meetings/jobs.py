"""The daemon's periodic distribution jobs, assembled in one place for `App.jobs()`.

Each job is idempotent and cheap when there is nothing to do, because the runner calls it on
every pass: agendas (and addenda) that are due, the late-minutes reminder, flag-expiry
notices and, when a watch folder is configured, minutes dropped into it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from mailbot.meetings.agendas import Agendas
from mailbot.meetings.flags import FlagExpiry
from mailbot.meetings.minutes_jobs import Minutes, MinutesWatch

if TYPE_CHECKING:
    from mailbot.intake.process import Intake

Job = tuple[str, Callable[[datetime], None]]


def distribution_jobs(intake: Intake) -> list[Job]:
    minutes = Minutes(intake)
    jobs: list[Job] = [
        ("agenda", Agendas(intake).run),
        ("minutes_late", minutes.remind_late),
        ("flag_expiry", FlagExpiry(intake).run),
    ]
    watch_dir = intake.config.minutes.watch_dir
    if watch_dir is not None:
        jobs.append(("minutes_watch", MinutesWatch(minutes, watch_dir).run))
    return jobs
