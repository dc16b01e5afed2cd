"""What the meeting jobs need of the running service, as a protocol.

`mailbot.context.Context` is the one thing that has all of it; the jobs name only what they
use, so `meetings` stays below the wiring that builds the context (it never imports it).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import structlog

from mailbot.cases.casebook import Casebook
from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.notices import Notices
from mailbot.dispatch.parts import Dispatch
from mailbot.meetings.listing import Listings
from mailbot.models import Clock
from mailbot.store import Store


class Services(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def log(self) -> structlog.typing.FilteringBoundLogger: ...

    @property
    def casebook(self) -> Casebook: ...

    @property
    def dispatch(self) -> Dispatch: ...

    @property
    def listings(self) -> Listings: ...

    @property
    def notices(self) -> Notices: ...

    def today(self) -> date: ...
