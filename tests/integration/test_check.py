"""`mailbot check`: the configured backends are reached and problems are named."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
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


CONFIG_EXIT = 2


def _edit(workspace: Path, old: str, new: str) -> None:
    path = workspace / "mailbot.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _cli(workspace: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(workspace / "mailbot.toml"), *args])
    return result.exit_code, result.output


def test_check_before_the_first_start_creates_nothing_and_says_what_will_be(
    workspace: Path,
) -> None:
    """GIVEN a fresh installation: the state directory and the Maildirs do not exist yet
    WHEN `mailbot check` runs (as install.md has IT do before the first start)
    THEN it passes, says the first start will create them, and creates nothing."""
    code, output = _check(workspace)
    assert code == 0, output
    state = workspace / "var"
    assert f"state directory {state}: will be created at first start" in output
    assert f"mailbox {state / 'mail'}: will be created at first start" in output
    assert not state.exists()


def test_check_names_a_state_directory_the_first_start_cannot_create(workspace: Path) -> None:
    """GIVEN a state directory configured under a regular file (so it cannot be created, even
    by root, as a directory the service user may not write cannot be)
    WHEN `mailbot check` runs, and when the service starts
    THEN check names the path and what to do, exit 2; the start is one line, exit 2."""
    (workspace / "taken").write_text("a file, not a directory\n")
    _edit(workspace, 'state_dir = "var"', 'state_dir = "taken/var"')
    _edit(workspace, 'path = "var/mail"', 'path = "taken/var/mail"')
    code, output = _check(workspace)
    assert code == CONFIG_EXIT, output
    state = workspace / "taken" / "var"
    assert (
        f"problem: state directory {state} cannot be created by this user"
        f" ({workspace / 'taken'} is not a writable directory); create it for the service"
        f" user: install -d -o mailbot -m 700 {state}"
    ) in output
    code, output = _cli(workspace, "run", "--once")
    assert code == CONFIG_EXIT
    assert output == (
        f"mailbot: configuration error: service.state_dir: {state} cannot be created"
        " (Not a directory); create it for the service user"
        f" (sudo install -d -o mailbot -m 700 {state}) or change the setting\n"
    )


def test_a_mailbox_path_that_cannot_be_created_is_one_line(workspace: Path) -> None:
    """GIVEN [mailbox] path under a regular file (it does not exist and cannot be made)
    WHEN `mailbot check` runs, and `mailbot run --once`
    THEN check names the path as a problem (exit 2); run says in one line which Maildir
    cannot be created and what to do (exit 2), instead of a traceback."""
    (workspace / "taken").write_text("a file, not a directory\n")
    _edit(workspace, 'path = "var/mail"', 'path = "taken/mail"')
    maildir = workspace / "taken" / "mail"
    code, output = _check(workspace)
    assert code == CONFIG_EXIT, output
    assert f"problem: mailbox {maildir} cannot be created by this user" in output
    code, output = _cli(workspace, "run", "--once")
    assert code == CONFIG_EXIT
    assert output == (
        f"mailbot: configuration error: mailbox.path: the Maildir {maildir} cannot be"
        f" created (File exists: {workspace / 'taken'}); correct [mailbox] path, or create"
        " it for the service user with mode 0700\n"
    )


def test_a_secrets_file_that_cannot_be_read_is_one_line(workspace: Path) -> None:
    """GIVEN the secrets file's path holding a directory (mode 0700), which fails to read as
    root too (a mode-000 file does not: root reads it)
    WHEN `mailbot check` and `mailbot status` run
    THEN each says in one line that the file cannot be read and what it must be, exit 2."""
    secrets = workspace / "example-secrets.toml"
    secrets.unlink()
    secrets.mkdir(mode=0o700)
    for command in ("check", "status"):
        code, output = _cli(workspace, command)
        assert code == CONFIG_EXIT
        assert output == (
            "mailbot: configuration error: service.secrets_file: the secrets file"
            f" {secrets} cannot be read (Is a directory); it must be a file owned by the"
            " service user with mode 0600 (chown mailbot, chmod 600)\n"
        )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_a_secrets_file_the_service_user_may_not_read_is_one_line(workspace: Path) -> None:
    """GIVEN a secrets file with mode 000, and a user who is not root
    WHEN `mailbot check` runs
    THEN it says in one line that the file cannot be read (permission denied), exit 2."""
    (workspace / "example-secrets.toml").chmod(0)
    code, output = _cli(workspace, "check")
    assert code == CONFIG_EXIT
    assert "cannot be read (Permission denied)" in output
    assert len(output.splitlines()) == 1
