"""Every hostile input gets a clear outcome within a time limit and bounded memory.

The corpus (tests/data/hostile, over 70 attachments and emails), the emails too large to
commit (`hostile_corpus.LARGE_EMAILS`) and a 100 MB email, built here, go through the real
intake, dispatch and database in a separate process (`hostile_worker`), one at a time, with
the kernel's peak-RSS mark reset before each: a decompression bomb or a quadratic parser
shows up as that file's memory or seconds, and a good referral processed after all of them
shows the daemon carries on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_corpus as corpus
from tests.conftest import ROOT
from tests.hostile_mail import b64, headers

SECONDS_PER_FILE = 10.0
# Peak resident memory of the whole process while one file is processed: the interpreter
# and mailbot's libraries take ~120 MB; the 100 MB email is held once as bytes.
PEAK_MB = 400.0
PEAK_MB_HUGE = 600.0
HUGE_MB = 100
HUGE = "huge-100mb.eml"


def _huge_email(path: Path) -> None:
    """A 100 MB email (a base64 attachment), written in chunks: never held in this process."""
    chunk = b64(os.urandom(3 * 1024 * 1024 // 4 * 4))  # ~4 MB of base64 lines per chunk
    with path.open("wb") as out:
        out.write(
            headers("huge-100mb") + b'Content-Type: multipart/mixed; boundary="b"\n\n'
            b"--b\nContent-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: base64\n"
            b'Content-Disposition: attachment; filename="referral.docx"\n\n'
        )
        while out.tell() < HUGE_MB * 1024 * 1024:
            out.write(chunk)
        out.write(b"\n--b--\n")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run the worker once over the whole corpus (module-scoped: ~20 s for all files)."""
    import shutil

    workspace = tmp_path_factory.mktemp("hostile-bounds")
    shutil.copy(ROOT / "config" / "example.toml", workspace / "mailbot.toml")
    shutil.copy(ROOT / "config" / "example-secrets.toml", workspace / "example-secrets.toml")
    (workspace / "example-secrets.toml").chmod(0o600)
    inbox = workspace / "var" / "mail" / "Inbox"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True, mode=0o700)
    huge = inbox / "new" / HUGE
    _huge_email(huge)
    large = workspace / "large"  # not the inbox: the worker delivers them one at a time
    large.mkdir()
    for name in corpus.LARGE_EMAILS:
        (large / name).write_bytes(corpus.build_email(name))
    files = [
        huge,
        *(corpus.HOSTILE_DIR / name for name in corpus.expected_codes()),
        *(large / name for name in corpus.LARGE_EMAILS),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "tests.crash.hostile_worker", str(workspace), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line["name"]: line for line in lines}


def test_every_hostile_input_gets_its_outcome_in_time_and_memory(
    results: dict[str, dict[str, Any]],
) -> None:
    """GIVEN every file of the hostile corpus and every large email, one at a time, in a
    separate process
    WHEN each is processed by the daemon's code
    THEN each gets exactly one case with its expected code, within 10 seconds and 400 MB
    peak resident memory (the interpreter included)."""
    expected = {
        **corpus.expected_codes(),
        **{name: code for name, (_, code) in corpus.LARGE_EMAILS.items()},
    }
    assert set(expected) <= set(results)
    for name, code in expected.items():
        result = results[name]
        assert len(result["codes"]) == 1, name
        assert code in result["codes"][0], (name, result["codes"])
        assert result["seconds"] < SECONDS_PER_FILE, (name, result["seconds"])
        assert result["peak_mb"] < PEAK_MB, (name, result["peak_mb"])


def test_a_100mb_email_is_refused_cheaply(results: dict[str, dict[str, Any]]) -> None:
    """GIVEN a 100 MB email (over the 60 MB limit) in the inbox
    WHEN it is processed
    THEN it is returned as unreadable_document within the time limit, holding it in memory
    about once."""
    result = results[HUGE]
    assert result["codes"] == [["unreadable_document"]]
    assert result["seconds"] < SECONDS_PER_FILE
    assert result["peak_mb"] < PEAK_MB_HUGE


def test_the_daemon_carries_on_after_all_of_them(results: dict[str, dict[str, Any]]) -> None:
    """GIVEN all the hostile inputs processed
    WHEN a good referral arrives last
    THEN it is accepted."""
    assert results["good referral"]["outcomes"] == ["accepted"]
