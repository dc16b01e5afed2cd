"""Tables a person reads and a command line that behaves the same everywhere (issue 18):
headers, full names, codes in words, filters, `cases show` whole, `--version`, help on every
option, one exit code for an unknown area, one `list-at`."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from mailbot.cli import main
from mailbot.formdef import AREAS

USAGE_ERROR = 2
REFUSED = 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workspace: a dozen referrals decided, listed, answered and an agenda sent."""
    workspace = tmp_path_factory.mktemp("tables") / "demo"
    result = CliRunner().invoke(main, ["demo", "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    return workspace / "mailbot.toml"


def _run(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], input=input)


def _ok(config: Path, *args: str) -> str:
    result = _run(config, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_cases_list_has_a_header_full_agency_names_and_codes_in_words(demo: Path) -> None:
    """GIVEN the demo's cases, one from an agency with a name longer than 32 characters
    WHEN `cases list` runs, and again with --wide and with --json
    THEN there is a header row, the name is whole (wrapped, or on one line with --wide), the
    reasons read as words, and the JSON keeps the codes."""
    text = _ok(demo, "cases", "list")
    assert text.splitlines()[0].split() == [
        "REFERENCE",
        "CASE",
        "RECEIVED",
        "AGENCY",
        "AREA",
        "OUTCOME",
        "WHY",
    ]
    assert "missing: Victim date of birth" in text
    assert "missing_field" not in text
    assert "met: visible high risk" in text
    assert "Services" in text  # the end of "Dudley Council Children's Services", wrapped
    wide = _ok(demo, "cases", "list", "--wide")
    assert "Dudley Council Children's Services" in wide
    assert "Relationship of perpetrator to victim" in wide
    codes = json.loads(_ok(demo, "cases", "list", "--json"))
    assert any("missing_field:victim_dob" in c["reasons"] for c in codes)


def test_cases_list_filters_by_date_area_agency_and_outcome(demo: Path) -> None:
    """GIVEN the demo's cases
    WHEN `cases list` is filtered
    THEN only the matching rows are printed, and "(none)" when nothing matches."""

    def references(*args: str) -> list[str]:
        rows = json.loads(_ok(demo, "cases", "list", "--json", *args))
        return [r["reference"] for r in rows]

    every = json.loads(_ok(demo, "cases", "list", "--json"))
    dudley = [c["reference"] for c in every if c["area"] == "Dudley"]
    assert dudley
    assert references("--area", "dudley") == dudley
    returned = [c["reference"] for c in every if c["outcome"] == "returned"]
    assert returned
    assert references("--outcome", "returned") == returned
    nhs = [c["reference"] for c in every if "NHS" in (c["agency"] or "")]
    assert nhs
    assert references("--agency", "nhs") == nhs
    received = every[0]["received_at"][:10]
    assert references("--from", received, "--to", received) == [c["reference"] for c in every]
    assert _ok(demo, "cases", "list", "--from", "2100-01-01").strip() == "(none)"
    assert _ok(demo, "cases", "list", "--to", "2000-01-01").strip() == "(none)"


def test_cases_show_prints_each_section_once_addresses_whole_dash_and_history(
    demo: Path,
) -> None:
    """GIVEN the demo's first case, with a multi-line address, DASH answers and a second
    referral that joined it
    WHEN `cases show` runs
    THEN each section appears once, the address's later lines are indented under its first,
    the 24 DASH answers are shown, and the history names the joined referral, the listing
    and the messages sent."""
    every = json.loads(_ok(demo, "cases", "list", "--json"))
    joined = next(c for c in every if c["joined"])
    text = _ok(demo, "cases", "show", joined["case"])
    for n in ("1", "2", "3", "4", "4a", "5", "6", "7", "8"):
        assert text.count(f"\nSection {n}:") == 1, n
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  Victim address: "))
    assert lines[at + 1].startswith(" " * len("  Victim address: "))
    assert lines[at + 1].strip()
    assert "Has the current incident resulted in injury?" in text
    assert len(re.findall(r"^ {2}[ 12]\d\. (Yes|No|Don't know|not answered) ", text, re.M)) == 24
    history = text.split("\nHistory:\n", 1)[1]
    assert f"referral {joined['reference']} received" in history
    assert re.search(r"listed at the \w+ MARAC of \d{4}-\d{2}-\d{2}", history)
    assert "confirmation to " in history
    assert "mailbot: decided" in history  # the audit log's entries


def test_outbox_list_has_a_header_says_none_and_names_each_agendas_meeting(demo: Path) -> None:
    """GIVEN the demo's outbox, agendas included
    WHEN `outbox list` runs, and with a state nothing is in
    THEN a header heads it, agenda rows name their meeting, and an empty list says "(none)"."""
    text = _ok(demo, "outbox", "list")
    assert text.splitlines()[0].split()[:4] == ["ID", "STATE", "KIND", "FOR"]
    agendas = [line for line in text.splitlines() if " agenda " in line]
    meeting = rf"({'|'.join(AREAS)}) MARAC \d{{4}}-\d{{2}}-\d{{2}}"
    assert agendas
    assert all(re.search(meeting, line) for line in agendas)
    assert _ok(demo, "outbox", "list", "--state", "held").strip() == "(none)"


def test_version_and_the_config_option_help() -> None:
    """GIVEN the installed package
    WHEN `mailbot --version` and `mailbot --help` run
    THEN the version is the package's, and --config's help names $MAILBOT_CONFIG."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mailbot, version {version('mailbot')}"
    assert "$MAILBOT_CONFIG" in CliRunner().invoke(main, ["--help"]).output


def _commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = [(path, group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{path} {name}"))
        else:
            found.append((f"{path} {name}", command))
    return found


def test_every_option_of_every_command_has_help() -> None:
    """GIVEN the whole `mailbot` command
    WHEN every option of every command is looked at
    THEN each has help text."""
    bare = [
        f"{path} --{option.name}"
        for path, command in _commands(main, "mailbot")
        for option in command.params
        if isinstance(option, click.Option) and not (option.help or "").strip()
    ]
    assert len(_commands(main, "mailbot")) > 20
    assert bare == []


@pytest.mark.parametrize(
    "args",
    [
        ("cases", "list", "--area", "Atlantis"),
        ("queue", "list", "--area", "Atlantis"),
        ("meetings", "list", "--area", "Atlantis"),
        ("agenda", "preview", "Atlantis", "2026-12-16", "out.docx"),
        ("minutes", "send", "Atlantis", "2026-12-16", "."),
    ],
)
def test_an_unknown_area_is_a_usage_error_everywhere(demo: Path, args: tuple[str, ...]) -> None:
    """GIVEN an area that does not exist
    WHEN any command that takes an area is given it
    THEN it is a usage error (exit 2) naming the area."""
    result = _run(demo, *args)
    assert result.exit_code == USAGE_ERROR, result.output
    assert "Atlantis" in result.output


def test_list_at_lives_under_cases_and_the_old_name_says_it_moved(demo: Path) -> None:
    """GIVEN the two `list-at` commands of before
    WHEN `queue --help`, `cases list-at --help` and the old `queue list-at` run
    THEN only `cases list-at` is offered, with --actor and --addendum, and the old name says
    where it moved and then does the same."""
    assert "list-at" not in _ok(demo, "queue", "--help")
    helped = _ok(demo, "cases", "list-at", "--help")
    assert "--actor" in helped
    assert "--addendum" in helped
    old = _run(demo, "queue", "list-at", "MARAC-2099-00001", "2026-12-16")
    new = _run(demo, "cases", "list-at", "MARAC-2099-00001", "2026-12-16")
    assert "use mailbot cases list-at" in old.output
    assert old.exit_code == new.exit_code == REFUSED
    assert "no case MARAC-2099-00001" in old.output
    assert "no case MARAC-2099-00001" in new.output


def test_queue_return_checks_the_reasons_before_asking_about_the_note(demo: Path) -> None:
    """GIVEN a return with a reason that is not one, and a note
    WHEN `queue return` runs without --yes
    THEN it stops with a usage error naming the bad reason, before asking to confirm."""
    result = _run(
        demo,
        "queue",
        "return",
        "MARAC-2026-00001",
        "--reason",
        "no_such_reason",
        "--note",
        "Please use the new form.",
        input="y\n",
    )
    assert result.exit_code == USAGE_ERROR, result.output
    assert "no_such_reason" in result.output
    assert "Send it?" not in result.output
