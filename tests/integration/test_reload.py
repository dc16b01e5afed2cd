"""Reloading the configuration into a running app: live where it can, refused when wrong."""

from __future__ import annotations

import random
from pathlib import Path

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks
from mailbot.models import Outcome
from mailbot.service.reload import reload_config
from tests.conftest import TODAY
from tests.integration.conftest import Send

POLICE = "pc.adams@west-midlands.pnn.police.uk"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_threshold_change_applies_to_the_next_referral(
    app: App, send: Send, workspace: Path
) -> None:
    """GIVEN a running app, and the DASH threshold lowered from 14 to 10 in the file
    WHEN the configuration is reloaded and a referral with 12 Yes answers arrives
    THEN it is accepted under the new threshold, and the change is reported as applied."""
    runner = app.runner()
    _edit(workspace / "mailbot.toml", "dash_yes_minimum = 14", "dash_yes_minimum = 10")
    result = reload_config(app, runner, workspace / "mailbot.toml")
    assert result.rejected is None
    assert "threshold" in result.applied
    assert result.restart_needed == ()
    form = with_dash_yes(sample_form(random.Random(3), referral_date=TODAY, area="Dudley"), 12)
    message_id = send(POLICE, render_form(form))
    runner.run_once()
    [case] = [c for c in app.casebook.cases() if c.message_id == message_id]
    assert case.decision.outcome is Outcome.ACCEPTED
    assert "visible_high_risk" in case.decision.criteria


def test_an_invalid_file_is_refused_and_the_running_configuration_kept(
    app: App, workspace: Path
) -> None:
    """GIVEN a running app
    WHEN the file is changed to an invalid value, and then to broken TOML, and reloaded
    THEN each reload is rejected with the key or the syntax named, and nothing changes."""
    runner = app.runner()
    before = app.config
    _edit(workspace / "mailbot.toml", "dash_yes_minimum = 14", "dash_yes_minimum = 99")
    result = reload_config(app, runner, workspace / "mailbot.toml")
    assert result.rejected is not None
    assert "threshold.dash_yes_minimum" in result.rejected
    assert app.config is before
    assert app.ctx.config is before
    (workspace / "mailbot.toml").write_text("[service\n")
    result = reload_config(app, runner, workspace / "mailbot.toml")
    assert result.rejected is not None
    assert "not valid TOML" in result.rejected
    assert app.config is before


def test_mailbox_and_state_changes_wait_for_a_restart(app: App, workspace: Path) -> None:
    """GIVEN a running app
    WHEN the mailbox path, the state directory and the poll interval change together
    THEN the poll interval applies now; the mailbox and the state directory are reported as
    needing a restart and keep their running values."""
    runner = app.runner()
    old_mail, old_state = app.config.mail_dir, app.config.service.state_dir
    config = workspace / "mailbot.toml"
    _edit(config, 'path = "var/mail"', 'path = "elsewhere/mail"')
    _edit(config, 'state_dir = "var"', 'state_dir = "elsewhere"')
    _edit(config, "poll_interval_seconds = 1.0", "poll_interval_seconds = 5.0")
    result = reload_config(app, runner, config)
    assert set(result.restart_needed) == {"mailbox", "service.state_dir"}
    assert "service.poll_interval_seconds" in result.applied
    assert runner.poll_interval == 5.0
    assert app.config.mail_dir == old_mail
    assert app.config.service.state_dir == old_state
    assert app.ctx.config.mail_dir == old_mail


def test_a_new_agency_password_opens_the_next_referral(
    app: App, send: Send, workspace: Path
) -> None:
    """GIVEN a running app, and a new agreed password added for an agency in the secrets file
    WHEN the configuration is reloaded and a form encrypted with it arrives
    THEN the form is opened (no restart needed for agency passwords from a secrets file)."""
    from mailbot.dispatch.encrypt import encrypt_docx

    runner = app.runner()
    _edit(
        workspace / "example-secrets.toml",
        'passwords = ["WH-Safe-4482"]',
        'passwords = ["WH-New-0001", "WH-Safe-4482"]',
    )
    result = reload_config(app, runner, workspace / "mailbot.toml")
    assert result.applied == ("secrets.agencies",)
    form = sample_form(random.Random(4), referral_date=TODAY)
    document = encrypt_docx(render_form(form), "WH-New-0001", spin_count=1000)
    message_id = send("tenancy@wolverhamptonhomes.org.uk", document)
    runner.run_once()
    [case] = [c for c in app.casebook.cases() if c.message_id == message_id]
    assert case.decision.outcome is Outcome.ACCEPTED


def test_the_message_texts_follow_a_new_templates_folder(
    app: App, send: Send, workspace: Path
) -> None:
    """GIVEN a running app, and templates_dir set to a folder with the team's rejection text
    WHEN the configuration is reloaded and a referral is returned
    THEN the rejection sent uses the team's text."""
    runner = app.runner()
    custom = workspace / "texts"
    custom.mkdir()
    (custom / "rejection.txt").write_text(
        "Subject: Referral {{ reference }} returned\n\nOur own words: please resend.\n"
    )
    _edit(workspace / "mailbot.toml", '# templates_dir = "templates"', 'templates_dir = "texts"')
    assert "service.templates_dir" in reload_config(app, runner, workspace / "mailbot.toml").applied
    form = with_ticks(
        with_dash_yes(sample_form(random.Random(5), referral_date=TODAY, area="Dudley"), 6),
        reason_visible_high_risk=False,
    )
    send(POLICE, render_form(form))
    runner.run_once()
    assert app.ctx.dispatch is not None
    [rejection] = app.ctx.dispatch.outbox.messages(state="sent")[:1]
    assert b"Our own words" in rejection.raw


def test_the_web_page_settings_wait_for_a_restart(app: App, workspace: Path) -> None:
    """GIVEN a running app (its web page built when it started)
    WHEN the web page's port and its idle time change
    THEN `web` is reported as needing a restart and keeps its running values, so what the
    reload reports is what the page does."""
    runner = app.runner()
    config = workspace / "mailbot.toml"
    _edit(config, "port = 8080", "port = 8181")
    _edit(config, "session_idle_minutes = 30", "session_idle_minutes = 10")
    result = reload_config(app, runner, config)
    assert result.restart_needed == ("web",)
    assert "web" not in result.applied
    assert app.config.web.port == 8080
    assert app.config.web.session_idle_minutes == 30
