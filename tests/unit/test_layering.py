"""Which package of mailbot may import which: the folders are the pipeline, imports go one way.

A referral is read (`ingest`: mailboxes, MIME, documents, the form), checked (`validate`:
pure checks returning codes), recorded as a case (`cases`), answered (`dispatch`: replies,
alerts, the outbox, the senders) and listed at a meeting (`meetings`: calendar, agendas,
minutes); `intake` is the pipeline that runs one email through those stages, in order, and
`service` the daemon around it (STYLE.md). So each package imports only those before it in
`PIPELINE` (and the shared modules at the top of `mailbot/`); importing one after it is an
upward import. `context`, `app`, `runner` and `actions` wire the packages together; `cli/`,
`web/` and `demo/` sit outside and nothing in the pipeline imports them. No two modules
import each other, however indirectly.

Read with the standard library's `ast` (imports under TYPE_CHECKING and inside functions
count: they are a dependency of the code all the same). The upward imports that remain are
listed in `KNOWN_UPWARD` with why; the list may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "mailbot"
# In the order a referral flows, each package built on the ones before it.
PIPELINE = ("ingest", "validate", "cases", "dispatch", "meetings", "intake", "service")
OUTSIDE = ("cli", "web", "demo")
# The modules every stage shares (the top of mailbot/).
SHARED = frozenset(
    {"models", "errors", "logs", "config", "credentials", "store", "schema", "formdef", "codes"}
)
# The wiring that sits above the pipeline: it builds and runs it.
WIRING = frozenset({"context", "app", "runner", "actions"})

# (importer, imported): each an upward import that remains today, and why it is not gone yet.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


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
        found.update(
            n.split(".")[1] for n in names if n.startswith("mailbot.") and len(n.split(".")) > 1
        )
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
    return {
        (a, b): files
        for (a, b), files in _edges().items()
        if a in PIPELINE and b in PIPELINE and PIPELINE.index(b) > PIPELINE.index(a)
    }


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
    assert imported <= {"models", "codes", "config", "formdef", "errors"}


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
    offenders = {
        (a, b)
        for (a, b) in _edges()
        if a in SHARED and (b in PIPELINE or b in OUTSIDE or b in WIRING)
    }
    assert not offenders


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Every mailbot module and the mailbot modules it imports (a `from a import b` names
    the module `a.b` when there is one, else `a`)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other() -> None:
    """GIVEN every import between mailbot's modules (also under TYPE_CHECKING)
    WHEN they are followed
    THEN no chain of imports leads back to where it started (a cycle means one module is
    two, or a third is missing)."""
    assert _cycles(_module_graph()) == []


def test_a_cycle_is_found() -> None:
    """GIVEN a made-up graph where a imports b, b imports c and c imports a
    WHEN cycles are looked for
    THEN the three are found together (the check above can fail)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_stages_never_import_the_wiring() -> None:
    """GIVEN the packages the context is built from (every stage before intake)
    WHEN their imports are read
    THEN none imports the context, the app, the runner or the actions (they take what they
    need as arguments: the meeting jobs name it as a protocol, `meetings.services`)."""
    stages = PIPELINE[: PIPELINE.index("intake")]
    offenders = {(a, b) for (a, b) in _edges() if a in stages and b in WIRING}
    assert not offenders, offenders


@pytest.mark.parametrize("front", ["cli", "web"])
def test_the_front_ends_reach_the_pipeline_through_the_wiring(front: str) -> None:
    """GIVEN the command line and the web page
    WHEN their imports are read
    THEN neither reaches into reading mail, the checks or the intake itself: they open
    mailbot through `app`, take its `context` and change cases through `actions` (they still
    read the records' types, the outbox and the meeting papers, and IT's commands the
    service's health and checks)."""
    reached = {b for (a, b) in _edges() if a == front}
    assert not reached & {"ingest", "validate", "intake"}, reached
    assert {"app", "context", "actions"} & reached
