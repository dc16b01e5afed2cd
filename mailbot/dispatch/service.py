"""The dispatch collaborators intake needs, built together from the configuration.

Deciding a case and saying so are one transaction: intake lists the case at a meeting,
plans its messages and enqueues them through these, before anything is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.outbox import Outbox
from mailbot.dispatch.plan import Planner
from mailbot.dispatch.templates import Templates
from mailbot.meetings.calendar import Calendar
from mailbot.meetings.listing import Listings
from mailbot.store import Store


@dataclass(frozen=True)
class Dispatch:
    planner: Planner
    outbox: Outbox
    listings: Listings


def build_dispatch(config: Config, secrets: Secrets, store: Store) -> Dispatch:
    planner = Planner(config, secrets, Templates(config.service.templates_dir))
    listings = Listings(store, Calendar(config), list(config.areas))
    return Dispatch(planner, Outbox(store, config.mailbox.address), listings)
