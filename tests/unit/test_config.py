"""The configuration: the example deployment loads exactly, and mistakes fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest

from mailbot.config import load_config
from mailbot.credentials import load_secrets
from mailbot.errors import ConfigError


def test_example_config_describes_the_demo_deployment(workspace: Path) -> None:
    """GIVEN config/example.toml
    WHEN loaded
    THEN it holds the demo deployment: agencies, routes, IDVA rules, meetings."""
    config = load_config(workspace / "mailbot.toml")
    assert config.mailbox.address == "marac_referrals@west-midlands.pnn.police.uk"
    assert config.team.address == "marac_team@west-midlands.pnn.police.uk"
    assert len(config.agencies) == 11
    assert len(config.areas) == 7
    assert config.agency_for("x@BirminghamChildrensTrust.co.uk").id == "bct"  # type: ignore[union-attr]
    assert config.agency_for("someone@gmail.com") is None
    assert config.is_secure_address("marac.asc@sandwell.gov.uk")  # secure by name
    assert config.is_secure_address("idva@bswaid.cjsm.net")  # subdomain of a secure domain
    assert not config.is_secure_address("marac@whgrp.co.uk")
    wolves = config.areas["Wolverhampton"].meetings
    assert (wolves.frequency, wolves.weekday, wolves.time) == ("weekly", "wednesday", time(10, 0))
    assert config.areas["Coventry"].meetings.anchor == date(2026, 1, 6)
    assert config.areas["Birmingham"].meetings.time == time(9, 30)
    assert config.service.state_dir == workspace / "var"  # relative to the config file
    assert config.mail_dir == workspace / "var" / "mail"
    rules = [(r.area, r.when, r.service) for r in config.idva_rules if r.area == "Wolverhampton"]
    assert rules[0] == ("Wolverhampton", "dash_q16_yes", "haven-wolverhampton-sv")


def test_secrets_hold_current_then_previous_passwords(workspace: Path) -> None:
    """GIVEN the example secrets (mode 0600)
    WHEN loaded
    THEN each agency's passwords come current first, and none shows in a repr."""
    config = load_config(workspace / "mailbot.toml")
    secrets = load_secrets(config, environ={})
    assert secrets.passwords_for("bct") == ["BCT-Marac-7731", "BCT-Marac-2290"]
    assert secrets.passwords_for("wmp") == []
    assert "BCT-Marac" not in repr(secrets)


def test_a_secrets_file_others_can_read_is_refused(workspace: Path) -> None:
    """GIVEN a secrets file with mode 0644
    WHEN loaded
    THEN mailbot refuses, naming the fix and not the contents."""
    config = load_config(workspace / "mailbot.toml")
    (workspace / "example-secrets.toml").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600") as caught:
        load_secrets(config, environ={})
    assert "BCT" not in str(caught.value)


def test_systemd_credentials_take_precedence(workspace: Path, tmp_path: Path) -> None:
    """GIVEN $CREDENTIALS_DIRECTORY with a 'secrets' credential
    WHEN secrets load
    THEN they come from there."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "secrets").write_text('[agencies.whg]\npasswords = ["From-Systemd-1"]\n')
    config = load_config(workspace / "mailbot.toml")
    secrets = load_secrets(config, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert secrets.passwords_for("whg") == ["From-Systemd-1"]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('weekday = "wednesday"', 'weekday = "someday"', "areas.Wolverhampton.meetings.weekday"),
        ("dash_yes_minimum = 14", "dash_yes_minimum = 40", "threshold.dash_yes_minimum"),
        ('kind = "maildir"', 'kind = "pigeon"', "mailbox.kind"),
        ('timezone = "Europe/London"', 'timezone = "Mars/Olympus"', "service.timezone"),
        ("[areas.Walsall]", "[areas.Brum]", "areas"),
    ],
)
def test_a_bad_config_names_the_key(workspace: Path, old: str, new: str, key: str) -> None:
    """GIVEN a config with one wrong value
    WHEN loaded
    THEN the error names the key."""
    path = workspace / "mailbot.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(key)


def test_cli_exits_2_with_one_line_on_a_bad_config(workspace: Path) -> None:
    """GIVEN a config with a typo'd key
    WHEN the CLI starts
    THEN it prints one line naming the key and exits with code 2."""
    path = workspace / "mailbot.toml"
    path.write_text(path.read_text().replace("poll_interval_seconds", "poll_intervall"))
    result = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(path), "cases", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "service.poll_intervall" in lines[0]


def test_every_key_of_the_example_is_read_where_it_belongs(workspace: Path) -> None:
    """GIVEN the example config, whose top-level keys must precede any table
    WHEN loaded
    THEN they are read as top-level settings, and a stray key inside [limits] is refused."""
    config = load_config(workspace / "mailbot.toml")
    assert config.agenda_working_days_before == 5
    assert config.distribution_all_areas == ("marac_team@west-midlands.pnn.police.uk",)
    path = workspace / "mailbot.toml"
    path.write_text(path.read_text().replace("[limits]\n", "[limits]\nmax_spin = 3\n"))
    with pytest.raises(ConfigError, match=r"^limits\.max_spin"):
        load_config(path)


@pytest.mark.parametrize("kind", ["imap", "exchange", "graph"])
def test_the_commented_mailbox_examples_are_valid(kind: str) -> None:
    """GIVEN the commented-out [mailbox] example for a backend in config/example.toml
    WHEN it is uncommented and validated
    THEN it is a valid mailbox configuration of that kind."""
    import tomllib

    from pydantic import TypeAdapter

    from mailbot.config.mail import MailboxSettings

    text = (Path(__file__).resolve().parents[2] / "config" / "example.toml").read_text()
    start = text.index(f'# kind = "{kind}"')
    lines = []
    for line in text[text.rindex("# [mailbox]", 0, start) :].splitlines()[1:]:
        if line.startswith("# #"):
            continue  # a comment of the example itself
        if not line.startswith("# "):
            break
        lines.append(line[2:])
    settings = TypeAdapter(MailboxSettings).validate_python(tomllib.loads("\n".join(lines)))
    assert settings.kind == kind


def test_the_outbox_settings_are_read_and_checked(workspace: Path) -> None:
    """GIVEN the example's [outbox] table
    WHEN loaded, and again with a negative give-up time
    THEN the alert and give-up times are as documented, and the bad value is refused naming
    its key."""
    config = load_config(workspace / "mailbot.toml")
    assert (config.outbox.alert_after_minutes, config.outbox.give_up_after_hours) == (60, 24)
    path = workspace / "mailbot.toml"
    path.write_text(
        path.read_text().replace("give_up_after_hours = 24", "give_up_after_hours = -1")
    )
    with pytest.raises(ConfigError, match=r"^outbox\.give_up_after_hours"):
        load_config(path)
