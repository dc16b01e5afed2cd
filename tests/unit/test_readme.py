"""The README's two commands stay the ones CI and newcomers actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_gives_a_demo_and_a_test_command() -> None:
    """GIVEN README.md
    WHEN its shell blocks are read
    THEN the first installs and runs the demo and the second runs pytest."""
    demo, tests = _commands()[:2]
    assert demo.startswith("python3 -m venv .venv")
    assert demo.endswith("mailbot demo")
    assert tests.startswith("python3 -m venv .venv")
    assert tests.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """GIVEN .ci/run
    WHEN compared with the README
    THEN it runs the README's test command verbatim."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()
