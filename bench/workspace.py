"""A fresh mailbot deployment for one benchmark run: the example configuration, the history
imported, and the first N corpus emails delivered into the Maildir inbox in order.

Everything here happens before the clock starts: importing 50,000 earlier cases and
delivering the mail is setup, not the backlog being measured.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mailbot.app import open_app
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def prepare(directory: Path, *, workers: int | None = None) -> Path:
    """The example config and secrets in an empty `directory`; returns the config path."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    text = (CONFIG_DIR / "example.toml").read_text()
    if workers is not None:
        text, found = re.subn(r"(?m)^#? ?workers = .*$", f"workers = {workers}", text)
        if not found:
            raise SystemExit("config/example.toml has no [service] workers line to set")
    config = directory / "mailbot.toml"
    config.write_text(text)
    secrets = directory / "example-secrets.toml"
    shutil.copy(CONFIG_DIR / "example-secrets.toml", secrets)
    secrets.chmod(0o600)
    return config


def load(config: Path, corpus: Path, count: int, history: Path) -> int:
    """Import `history`, deliver the corpus's first `count` emails; return the cases
    imported."""
    app = open_app(config, with_mailbox=False)
    try:
        imported = app.casebook.import_history(history.read_text())
        inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
        for n in range(count):
            inbox.deliver(Folder.INBOX, (corpus / "mail" / f"{n:05d}.eml").read_bytes())
        inbox.close()
    finally:
        app.close()
    return imported
