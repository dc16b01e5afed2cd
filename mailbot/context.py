"""The one context every part of mailbot is handed: configuration, secrets, store, clock.

Built once at start-up by `mailbot.app.open_app`; the daemon's jobs, the intake, the
administrators' actions, the command line and the web page all take it, and nothing reaches
through another object to find the store. What is derived from the configuration (the
message planner and its templates, the outbox, the meeting listings, the notices) is built
from it on first use and again after a reload.

A reload (`mailbot.service.reload`) swaps the configuration in one place, `Running`, which
the daemon's context and the web page's share: the page runs in a thread with its own
database connection (`Context.beside`), so it has a context of its own, but never a
configuration of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

import structlog

from mailbot.cases.casebook import Casebook
from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.notices import Notices
from mailbot.dispatch.parts import Dispatch, build_dispatch
from mailbot.meetings.calendar import Calendar
from mailbot.meetings.listing import Listings
from mailbot.models import Clock
from mailbot.store import Store


@dataclass(frozen=True)
class Loaded:
    """One configuration with its secrets; `generation` counts the reloads."""

    config: Config
    secrets: Secrets
    generation: int = 0


class Running:
    """The configuration in effect, shared by every context of the process (thread-safe:
    a swap replaces one immutable `Loaded`, which readers take whole)."""

    def __init__(self, config: Config, secrets: Secrets) -> None:
        self._loaded = Loaded(config, secrets)
        self._lock = threading.Lock()

    @property
    def loaded(self) -> Loaded:
        return self._loaded

    def swap(self, config: Config, secrets: Secrets) -> None:
        with self._lock:
            self._loaded = Loaded(config, secrets, self._loaded.generation + 1)


@dataclass(frozen=True)
class _Derived:
    """What is built from one generation of the configuration and one store."""

    generation: int
    dispatch: Dispatch
    listings: Listings
    notices: Notices


@dataclass
class Context:
    """What every stage's I/O is done with, passed in (tests hand in temporary ones)."""

    running: Running
    store: Store
    clock: Clock
    log: structlog.typing.FilteringBoundLogger
    casebook: Casebook = field(init=False)
    _derived: _Derived | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.casebook = Casebook(self.store)

    @classmethod
    def of(
        cls,
        config: Config,
        secrets: Secrets,
        store: Store,
        clock: Clock,
        log: structlog.typing.FilteringBoundLogger,
    ) -> Context:
        """A context with a configuration of its own (one process, one thread)."""
        return cls(Running(config, secrets), store, clock, log)

    def beside(self, store: Store) -> Context:
        """A context for another thread, on its own database connection: the same running
        configuration (a reload reaches both), the same clock."""
        return Context(self.running, store, self.clock, self.log)

    @property
    def config(self) -> Config:
        return self.running.loaded.config

    @property
    def secrets(self) -> Secrets:
        return self.running.loaded.secrets

    @property
    def dispatch(self) -> Dispatch:
        return self._current().dispatch

    @property
    def listings(self) -> Listings:
        return self._current().listings

    @property
    def notices(self) -> Notices:
        return self._current().notices

    def today(self) -> date:
        """Today where the team works."""
        return self.clock.now().astimezone(self.config.zone).date()

    def _current(self) -> _Derived:
        loaded = self.running.loaded
        derived = self._derived
        if derived is None or derived.generation != loaded.generation:
            config = loaded.config
            dispatch = build_dispatch(config, loaded.secrets, self.store)
            listings = Listings(self.store, Calendar(config), list(config.areas))
            notices = Notices(config, dispatch, self.casebook, listings, self.clock, self.log)
            derived = self._derived = _Derived(loaded.generation, dispatch, listings, notices)
        return derived
