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


# (what the example says, the mistake, the line's offset from the first, the error after "line N: ")
MISTAKES = [
    ("[service]", "[servce]", 0, "unknown table [servce]; did you mean [service]?"),
    ("[team]", "[tema]", 0, "unknown table [tema]; did you mean [team]?"),
    (
        "poll_interval_seconds = 1.0",
        "poll_intervall = 1.0",
        0,
        "unknown key service.poll_intervall; did you mean service.poll_interval_seconds?",
    ),
    (
        "agenda_working_days_before = 5",
        "agenda_working_days = 5",
        0,
        "unknown key agenda_working_days; did you mean agenda_working_days_before?",
    ),
    (
        "[limits]\n",
        "[limits]\nmax_spin = 3\n",
        1,
        "unknown key limits.max_spin; did you mean limits.max_spin_count?",
    ),
    (
        'kind = "maildir"',
        'kind = "maildir"\npathh = "mail"',
        1,
        "unknown key mailbox.pathh; did you mean mailbox.path?",
    ),
    (
        "time = 10:00:00, venue",
        "tme = 10:00:00, venue",
        0,
        "unknown key areas.Solihull.meetings.tme; did you mean areas.Solihull.meetings.time?",
    ),
    (
        'kind = "maildir"',
        'kind = "maildri"',
        0,
        "mailbox kind 'maildri' is not one of maildir, imap, exchange, graph;"
        " did you mean 'maildir'?",
    ),
    (
        'kind = "maildir"',
        'kind = "pigeon"',
        0,
        "mailbox kind 'pigeon' is not one of maildir, imap, exchange, graph",
    ),
    (
        "dash_yes_minimum = 14",
        "dash_yes_minimum = 99",
        0,
        "threshold.dash_yes_minimum must be between 1 and 24 (it is 99)",
    ),
    (
        "poll_interval_seconds = 1.0",
        "poll_interval_seconds = 0",
        0,
        "service.poll_interval_seconds must be more than 0 and at most 60 (it is 0)",
    ),
    (
        "give_up_after_hours = 24",
        "give_up_after_hours = -1",
        0,
        "outbox.give_up_after_hours must be between 0 and 336 (it is -1)",
    ),
    (
        'weekday = "wednesday"',
        'weekday = "wednsday"',
        0,
        "areas.Wolverhampton.meetings.weekday must be one of monday, tuesday, wednesday,"
        " thursday, friday (it is 'wednsday'); did you mean 'wednesday'?",
    ),
    (
        'below_threshold = "chair_review"',
        'below_threshold = "chair"',
        0,
        "areas.Wolverhampton.below_threshold must be one of return, chair_review"
        " (it is 'chair'); did you mean 'chair_review'?",
    ),
    (
        "capacity = 20 }",
        'capacity = "twenty" }',
        0,
        "areas.Birmingham.meetings.capacity must be a whole number (it is 'twenty')",
    ),
    (
        "distribution_include_idva = true",
        'distribution_include_idva = "yes please"',
        0,
        "distribution_include_idva must be true or false (it is 'yes please')",
    ),
    (
        "anchor = 2026-01-06",
        'anchor = "6 January"',
        0,
        "areas.Coventry.meetings.anchor must be a date, like 2026-01-08 (it is '6 January')",
    ),
    (
        '[[agencies]]\nid = "',
        '[[agencies]]\nid = "W',
        1,
        "agencies.id must be lower-case letters, digits, _ and - only (it is 'Wwmp')",
    ),
    ("[areas.Walsall]", "[areas.Walsal]", 0, "unknown area 'Walsal'; did you mean 'Walsall'?"),
    (
        "[areas.Walsall]",
        "[areas.Brum]",
        0,
        "unknown area 'Brum'; it is one of Birmingham, Coventry, Dudley, Sandwell, Solihull,"
        " Walsall, Wolverhampton",
    ),
    (
        'service = "haven-wolverhampton-sv"',
        'service = "haven-wolverhampton-s"',
        0,
        "unknown IDVA service 'haven-wolverhampton-s'; did you mean 'haven-wolverhampton-sv'?",
    ),
    (
        'timezone = "Europe/London"',
        'timezone = "Mars/Olympus"',
        0,
        "service.timezone: unknown time zone 'Mars/Olympus'; use a name like Europe/London",
    ),
    (
        "anchor = 2026-01-06",
        "anchor = 2026-01-07",
        0,
        "areas.Coventry.meetings: anchor is not on the schedule's weekday",
    ),
    ('state_dir = "var"\n', "", -2, "missing key service.state_dir; add it to [service]"),
    ("[service]", "[service", 0, "not valid TOML (expected ']' at the end of a table"),
]


@pytest.mark.parametrize(("old", "new", "offset", "expected"), MISTAKES)
def test_a_bad_config_is_one_line_in_words_with_its_line(
    workspace: Path, old: str, new: str, offset: int, expected: str
) -> None:
    """GIVEN the example config with one mistake (a misspelt table, key, nested key or kind; a
    value of the wrong type, out of range or not one of the choices; a name that refers to
    nothing; a required key missing; broken TOML)
    WHEN loaded
    THEN the error is one line: the file, the line of the mistake (or of its table), what is
    wrong in words and, for a misspelling, the nearest valid name; never pydantic's words."""
    path = workspace / "mailbot.toml"
    text = path.read_text()
    assert old in text
    line = text[: text.index(old)].count("\n") + 1 + offset
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path} line {line}: {expected}")
    assert "\n" not in message
    assert "Input should" not in message
    assert "Extra inputs" not in message


def test_a_missing_table_is_named_as_missing(workspace: Path) -> None:
    """GIVEN a config without its [team] table (not misspelt: absent)
    WHEN loaded
    THEN the error says the table is missing and to add it, with no line to point at."""
    path = workspace / "mailbot.toml"
    text = path.read_text()
    start = text.index("[team]\n")
    end = text.index("\n\n", start)
    path.write_text(text[:start] + text[end:])
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: missing table [team]; add it (config/example.toml shows each)"
    )
    assert caught.value.key == "team"


def test_a_bad_secrets_file_is_explained_without_its_values(workspace: Path) -> None:
    """GIVEN a secrets file with a misspelt key and then a password written as text, not a list
    WHEN loaded
    THEN each error names the file, the line and the fix, and never shows the password."""
    config = load_config(workspace / "mailbot.toml")
    secrets = workspace / "example-secrets.toml"
    secrets.write_text('[agencies.bct]\npassword = ["Secret-Word-1"]\n')
    with pytest.raises(ConfigError) as caught:
        load_secrets(config, environ={})
    assert str(caught.value) == (
        f"{secrets} line 2: unknown key agencies.bct.password; did you mean agencies.bct.passwords?"
    )
    secrets.write_text('[agencies.bct]\n\npasswords = "Secret-Word-1"\n')
    with pytest.raises(ConfigError) as caught:
        load_secrets(config, environ={})
    assert str(caught.value) == (
        f'{secrets} line 3: agencies.bct.passwords must be a list, like ["a", "b"]'
    )
    assert caught.value.key == "secrets.agencies.bct.passwords"


def test_key_lines_follow_toml_tables_arrays_and_values_across_lines() -> None:
    """GIVEN TOML with dotted and quoted keys, arrays of tables, a multi-line array holding
    brackets and '=' in strings, a multi-line string, and an inline table
    WHEN the lines of its keys are read
    THEN each key's line is the one it is defined on, and keys inside values are not keys."""
    from mailbot.config.explain import key_lines, line_of

    text = "\n".join(
        [
            "top = 1  # a comment [not] = a table",  # 1
            "[service]",  # 2
            "a.b = 2",  # 3
            'list = [ "x = [",',  # 4
            '  "y",  # fake = 1',  # 5
            "]",  # 6
            'notes = """',  # 7
            "fake = 3",  # 8
            '"""',  # 9
            "[[agencies]]",  # 10
            'id = "one"',  # 11
            "[[agencies]]",  # 12
            'id = "two"',  # 13
            "[agencies.extra]",  # 14
            "x = 1",  # 15
            '[areas."Some Place"]',  # 16
            "meetings = { time = 10:00:00, venue = 'x' }",  # 17
        ]
    )
    lines = key_lines(text)
    assert lines[("top",)] == 1
    assert lines[("service",)] == 2
    assert lines[("service", "a", "b")] == 3
    assert lines[("service", "list")] == 4
    assert ("service", "fake") not in lines
    assert lines[("service", "notes")] == 7
    assert lines[("agencies", 0, "id")] == 11
    assert lines[("agencies", 1, "id")] == 13
    assert lines[("agencies", 1, "extra", "x")] == 15
    assert line_of(lines, ("areas", "Some Place", "meetings", "venue")) == 17
    assert line_of(lines, ("nowhere",)) is None


def test_cli_exits_2_with_one_line_on_a_bad_config(workspace: Path) -> None:
    """GIVEN a config with a typo'd key
    WHEN the CLI starts
    THEN it prints one line naming the file, the line, the key and the right name, and exits
    with code 2."""
    path = workspace / "mailbot.toml"
    text = path.read_text()
    line = text[: text.index("poll_interval_seconds")].count("\n") + 1
    path.write_text(text.replace("poll_interval_seconds", "poll_intervall"))
    result = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(path), "cases", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"mailbot: configuration error: {path} line {line}: unknown key service.poll_intervall;"
        " did you mean service.poll_interval_seconds?"
    ]


def test_every_key_of_the_example_is_read_where_it_belongs(workspace: Path) -> None:
    """GIVEN the example config, whose top-level keys must precede any table
    WHEN loaded
    THEN they are read as top-level settings, and a stray key inside [limits] is refused."""
    config = load_config(workspace / "mailbot.toml")
    assert config.agenda_working_days_before == 5
    assert config.distribution_all_areas == ("marac_team@west-midlands.pnn.police.uk",)
    path = workspace / "mailbot.toml"
    path.write_text(path.read_text().replace("[limits]\n", "[limits]\nmax_spin = 3\n"))
    with pytest.raises(ConfigError, match=r"line \d+: unknown key limits\.max_spin;"):
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
    with pytest.raises(ConfigError, match=r"line \d+: outbox\.give_up_after_hours must be"):
        load_config(path)
