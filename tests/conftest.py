"""Shared fixtures: the example deployment in a private temporary workspace, a fixed clock.

The sample forms are dated around 2026-11-02, so the clock is fixed there: ages and the
12-month repeat window then mean the same on any day the tests run.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mailbot.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The example config and secrets copied to a temporary directory (secrets mode 0600)."""
    shutil.copy(ROOT / "config" / "example.toml", tmp_path / "mailbot.toml")
    secrets = tmp_path / "example-secrets.toml"
    shutil.copy(ROOT / "config" / "example-secrets.toml", secrets)
    secrets.chmod(0o600)
    return tmp_path


@pytest.fixture
def config(workspace: Path) -> Config:
    return load_config(workspace / "mailbot.toml")


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1234)
