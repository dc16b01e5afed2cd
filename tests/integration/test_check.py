"""`mailbot check`: the configured backends are reached and problems are named."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from mailbot.cli import main
from tests.integration.smtp_server import free_port, running_servers, scripted


def _check(workspace: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(workspace / "mailbot.toml"), "check"])
    return result.exit_code, result.output


def test_check_passes_on_the_embedded_default(workspace: Path) -> None:
    """GIVEN the example configuration (Maildir in, Outbox Maildir out)
    WHEN `mailbot check` runs
    THEN it lists the Maildir folders and passes."""
    code, output = _check(workspace)
    assert code == 0, output
    assert "folder: " in output
    assert "Inbox" in output
    assert "all checks passed" in output


def _use_smtp(workspace: Path, port: int) -> None:
    path = workspace / "mailbot.toml"
    head, _, tail = path.read_text().partition("[sender]")
    for old, new in (
        ('kind = "maildir"', 'kind = "smtp"'),
        ("starttls = true", "starttls = false"),
        ('host = "localhost"', 'host = "127.0.0.1"'),
    ):
        tail = tail.replace(old, new, 1)
    tail = re.sub(r"^port = \d+", f"port = {port}", tail, count=1, flags=re.M)
    path.write_text(head + "[sender]" + tail)


def test_check_reaches_a_real_smtp_server_and_names_an_unreachable_one(workspace: Path) -> None:
    """GIVEN the sender pointed at a real SMTP server, then at a closed port
    WHEN `mailbot check` runs
    THEN the first passes without sending anything, the second fails naming the network."""
    with running_servers() as start:
        server = start(scripted())
        _use_smtp(workspace, server.port)
        code, output = _check(workspace)
        assert code == 0, output
        assert server.handler.received == []
    _use_smtp(workspace, free_port())  # nothing listens there
    code, output = _check(workspace)
    assert code == 1
    assert "problem: network: cannot talk to 127.0.0.1" in output


def _use_exchange(workspace: Path, ews_url: str) -> None:
    """The [mailbox] section replaced by an EWS one (basic auth, its password not in the
    secrets file, so opening the mailbox stops before any network traffic)."""
    path = workspace / "mailbot.toml"
    head, _, tail = path.read_text().partition("[mailbox]\n")
    rest = tail[tail.index("\n[") :]  # the next table
    path.write_text(
        head
        + "[mailbox]\n"
        + "\n".join(
            [
                'kind = "exchange"',
                'address = "marac_referrals@west-midlands.pnn.police.uk"',
                f'ews_url = "{ews_url}"',
                'auth = "basic"',
                'username = "svc-mailbot@example.org"',
                'password_credential = "no_such_credential"',
            ]
        )
        + "\n"
        + rest
    )


def test_check_says_plainly_that_exchange_online_is_retiring_ews(workspace: Path) -> None:
    """GIVEN an exchange mailbox whose EWS endpoint is Exchange Online's, then an
    on-premises one
    WHEN `mailbot check` runs
    THEN for Exchange Online it says in one line that Microsoft blocks EWS there by default
    (1 October 2026) and switches it off (1 April 2027), and which backend to use; for the
    on-premises server it says nothing of the kind."""
    _use_exchange(workspace, "https://outlook.office365.com/EWS/Exchange.asmx")
    _, output = _check(workspace)
    [note] = [line for line in output.splitlines() if "EWS:" in line]
    assert note.startswith("  note: EWS: this is Exchange Online")
    assert "1 October 2026" in note
    assert "1 April 2027" in note
    assert 'kind = "graph"' in note
    _use_exchange(workspace, "https://mail.west-midlands.example/EWS/Exchange.asmx")
    _, output = _check(workspace)
    assert "Exchange Online" not in output
