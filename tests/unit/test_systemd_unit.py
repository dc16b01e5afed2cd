"""The systemd unit IT installs: what it must say, and how exposed systemd judges it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailbot.config import load_config
from mailbot.config.mail import SenderSettings
from mailbot.service.daemon import worst_stop_seconds

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "mailbot.service"
MAX_EXPOSURE = 1.5


def _settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_is_a_notify_service_with_watchdog_restart_and_credentials() -> None:
    """GIVEN systemd/mailbot.service
    WHEN its settings are read
    THEN it is Type=notify with a watchdog, restarts on failure, reloads with SIGHUP, runs as
    its own user with a state directory, and takes its secrets as a credential."""
    unit = _settings()
    assert unit["Type"] == ["notify"]
    assert re.fullmatch(r"\d+(min|s)", unit["WatchdogSec"][0])
    assert unit["Restart"] == ["on-failure"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["ExecStart"][0].endswith("--config /etc/mailbot/mailbot.toml run")
    assert unit["User"] == ["mailbot"]
    assert unit["StateDirectory"] == ["mailbot"]
    assert unit["LoadCredential"] == ["secrets:/etc/mailbot/secrets.toml"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert unit["UMask"] == ["0077"]


def test_the_stop_timeout_covers_the_longest_stop(workspace: Path) -> None:
    """GIVEN the example configuration sending through SMTP with the default timeouts
    WHEN the longest a SIGTERM can take is worked out (one send at its deadline, QUIT, close)
    THEN the unit's TimeoutStopSec covers it, so systemd never kills a daemon mid-send."""
    config = load_config(workspace / "mailbot.toml")
    config = config.model_copy(update={"sender": SenderSettings(kind="smtp")})
    [value] = _settings()["TimeoutStopSec"]
    match = re.fullmatch(r"(\d+)(s|min)", value)
    assert match, value
    seconds = int(match.group(1)) * (60 if match.group(2) == "min" else 1)
    assert worst_stop_seconds(config) <= seconds
    assert worst_stop_seconds(config) >= 60  # a send at its deadline is in it


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_judges_the_unit_well_hardened() -> None:
    """GIVEN systemd-analyze on this machine
    WHEN it scores the unit's exposure offline
    THEN the score is 1.5 or lower."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout
