"""The crash harness, short: the real daemon killed with SIGKILL 15 times over 40 emails.

The long run (1,000 kills and more, by hand; figures in the README) is the same script with
bigger numbers: `.venv/bin/python scripts/crash_harness.py --kills 1000 --emails 400`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

KILLS, EMAILS = 15, 40


@pytest.mark.timeout(240)
def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing() -> None:
    """GIVEN the daemon fed 40 referral emails of every kind over 15 restarts
    WHEN it is killed with SIGKILL at a random point of each run, then left to finish
    THEN every email has exactly one case (password emails none) and the same decision as an
    uninterrupted run, every outgoing message exists once (twice only with the same Message-ID),
    nothing is left in the Inbox, SIGTERM exits 0 and the database passes integrity_check."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "crash_harness.py"),
            "--kills",
            str(KILLS),
            "--emails",
            str(EMAILS),
            "--seed",
            "7",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    summary = json.loads(done.stdout)
    assert summary["failures"] == [], summary
    assert done.returncode == 0
    assert summary["kills"] == KILLS
    assert summary["emails"] == EMAILS
    assert summary["cases"] >= EMAILS - 10  # password emails have none
    assert summary["outgoing"] > EMAILS
