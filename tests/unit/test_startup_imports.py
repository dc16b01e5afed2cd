"""Start-up stays light: what renders, encrypts or serves is imported when it is first used.

The daemon's start-up time and memory (per process, under a tight bound) are mostly imports.
Word agenda writing, document encryption, minutes zips, message templates, bank holidays,
web accounts and sqlite-utils are needed only when something is due, sent or asked for, so
neither importing the program nor a pass over an empty inbox may load them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAZY = (
    "mailbot.meetings.agenda_doc",  # the Word agenda writer
    "msoffcrypto",  # encrypting Word documents
    "pyzipper",
    "Cryptodome",  # AES zips of the minutes
    "jinja2",  # message templates
    "holidays",  # the bank holiday calendar
    "argon2",  # web page accounts
    "sqlite_utils",
    "tenacity",
    "smtplib",
)

_SCRIPT = """
import json, sys
from pathlib import Path
import mailbot.cli, mailbot.app, mailbot.runner
imported = {name for name in sys.modules}
app = mailbot.app.open_app(Path(sys.argv[1]))
app.runner().run_once()
app.close()
print(json.dumps({"imports": sorted(imported), "after_pass": sorted(sys.modules)}))
"""


def _loaded(names: list[str]) -> list[str]:
    return sorted(
        {lazy for lazy in LAZY for name in names if name == lazy or name.startswith(lazy + ".")}
    )


def test_neither_start_up_nor_an_empty_pass_imports_the_renderers(workspace: Path) -> None:
    """GIVEN the example deployment with an empty inbox
    WHEN a fresh process imports the CLI, the app and the runner, then runs one pass
    THEN no document writer, encryption, zip, template, holiday, account or retry library
    has been imported, at start-up or by the pass."""
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(workspace / "mailbot.toml")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert _loaded(seen["imports"]) == []
    assert _loaded(seen["after_pass"]) == []
