"""Which package of mailbot may import which: the folders are the pipeline, imports go one way.

The order a referral flows is the order of the packages (STYLE.md): `ingest` (mailboxes,
MIME, documents, the form) -> `validate` (pure checks) -> `intake` (the pipeline) -> `cases`
-> `dispatch` (replies, alerts, the outbox) -> `meetings` (calendar, agendas, minutes) ->
`service` (the daemon). A package imports the shared modules at the top of `mailbot/` and
packages before it; importing one after it is an upward import. `cli/`, `web/` and `demo/`
sit outside and nothing in the pipeline imports them.

Read with the standard library's `ast` (imports under TYPE_CHECKING count: they are a
dependency of the code all the same). The upward imports that remain are listed in
`KNOWN_UPWARD` with why; the list may only shrink: a new upward import fails here, and so
does one that was removed without taking it off the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "mailbot"
PIPELINE = ("ingest", "validate", "intake", "cases", "dispatch", "meetings", "service")
OUTSIDE = ("cli", "web", "demo")
# The modules every stage shares (the top of mailbot/).
SHARED = frozenset({"models", "errors", "logs", "config", "settings", "credentials", "store",
                    "schema", "addresses", "formdef", "reasons"})
# The wiring that sits above the pipeline: it builds and runs it.
WIRING = frozenset({"app", "runner", "actions"})

# (importer, imported): each an upward import that remains today, and why it is not gone yet.
KNOWN_UPWARD = {
    ("intake", "cases"): "a decision looks up and records cases in its transaction",
    ("intake", "dispatch"): "a decision's messages are enqueued in its transaction",
    ("intake", "meetings"): "an accepted case is listed at a meeting in its transaction",
    ("dispatch", "meetings"): "replies and alerts name the meeting; Dispatch holds Listings",
}


def _package(path: Path) -> str:
    """'ingest', 'intake'... for a module in a package; the module's name at the top."""
    relative = path.relative_to(ROOT).with_suffix("")
    return relative.parts[0]


def _imports(path: Path) -> set[str]:
    """The first part below `mailbot.` of every mailbot module `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mailbot":
                names = [f"mailbot.{a.name}" for a in node.names]
            elif node.module.startswith("mailbot."):
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n.split(".")[1] for n in names
                     if n.startswith("mailbot.") and len(n.split(".")) > 1)
    return found


def _edges() -> dict[tuple[str, str], set[str]]:
    """(importer, imported) package pairs, with the files that make each."""
    edges: dict[tuple[str, str], set[str]] = {}
    for path in ROOT.rglob("*.py"):
        source = _package(path)
        if source in ("__init__", "__main__"):
            continue
        for target in _imports(path) - {source}:
            edges.setdefault((source, target), set()).add(str(path.relative_to(ROOT)))
    return edges


def _upward() -> dict[tuple[str, str], set[str]]:
    return {(a, b): files for (a, b), files in _edges().items()
            if a in PIPELINE and b in PIPELINE and PIPELINE.index(b) > PIPELINE.index(a)}


def test_the_packages_are_the_pipeline() -> None:
    """GIVEN the folders of mailbot/
    WHEN listed
    THEN each stage of the pipeline and each outside part is a package, and the top holds
    only the shared modules and the wiring (at most 14 modules)."""
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert set(PIPELINE) | set(OUTSIDE) <= packages
    top = {p.stem for p in ROOT.glob("*.py")} - {"__init__", "__main__"}
    assert top <= SHARED | WIRING, top - SHARED - WIRING
    assert len(top) <= 14


def test_no_new_upward_import() -> None:
    """GIVEN every import between mailbot's packages
    WHEN a package imports one later in the pipeline
    THEN it is one of the known upward imports (and each known one still exists)."""
    upward = _upward()
    new = {pair: sorted(files) for pair, files in upward.items() if pair not in KNOWN_UPWARD}
    assert not new, f"new upward imports: {new}"
    gone = set(KNOWN_UPWARD) - set(upward)
    assert not gone, f"no longer upward, take them off KNOWN_UPWARD: {gone}"


@pytest.mark.parametrize("package", PIPELINE)
def test_the_pipeline_never_imports_the_outside_parts(package: str) -> None:
    """GIVEN a package of the pipeline
    WHEN its imports are read
    THEN it imports neither the command line, the web page nor the demo."""
    outside = {b for (a, b) in _edges() if a == package and b in OUTSIDE}
    assert not outside


def test_validate_is_pure_checks() -> None:
    """GIVEN the validate package (pure checks returning codes)
    WHEN its imports are read
    THEN it imports only the models, codes, configuration and form definition."""
    imported = {b for (a, b) in _edges() if a == "validate"}
    assert imported <= {"models", "reasons", "config", "settings", "formdef", "addresses",
                        "errors"}


def test_dispatch_never_imports_intake_and_ingest_no_other_stage() -> None:
    """GIVEN dispatch and ingest
    WHEN their imports are read
    THEN dispatch never imports intake, and ingest, the first stage, imports no other stage
    (the senders that reuse a mailbox's connection live in dispatch.send)."""
    edges = _edges()
    assert ("dispatch", "intake") not in edges
    ingest = {b for (a, b) in edges if a == "ingest" and b in PIPELINE}
    assert not ingest, ingest


def test_shared_modules_import_no_stage() -> None:
    """GIVEN the modules at the top of mailbot/ that every stage shares
    WHEN their imports are read
    THEN none imports a stage, the wiring or an outside part (they are the ground floor)."""
    offenders = {(a, b) for (a, b) in _edges() if a in SHARED
                 and (b in PIPELINE or b in OUTSIDE or b in WIRING)}
    assert not offenders
