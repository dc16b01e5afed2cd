"""The planner and the outbox, built together from one configuration.

Deciding a case and saying so are one transaction: intake plans a decision's messages and
enqueues them through these before anything is committed. Built by `mailbot.context` and
built again when a reload changes the configuration (templates, routes, agencies).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.outbox import Outbox
from mailbot.dispatch.plan import Planner
from mailbot.dispatch.templates import Templates
from mailbot.store import Store


@dataclass(frozen=True)
class Dispatch:
    planner: Planner
    outbox: Outbox


def build_dispatch(config: Config, secrets: Secrets, store: Store) -> Dispatch:
    planner = Planner(config, secrets, Templates(config.service.templates_dir))
    return Dispatch(planner, Outbox(store, config.mailbox.address))
