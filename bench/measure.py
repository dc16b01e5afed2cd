"""Running one command as a child process and measuring it the way an operator would see it.

Wall time from start to exit; CPU time (user + system) of the child *and* of every process it
started and waited for (its worker processes), from `os.wait4`; the peak RSS the kernel
recorded (`ru_maxrss`, the largest single process); and RSS sampled from /proc every
`interval` seconds, for the main process and for its whole process tree (plain RSS, which
counts the interpreter's shared libraries once per process, and PSS, which splits shared pages
between their sharers: what the tree really occupies), so memory growth over a long run shows
up as a difference between the first and the last quarter of the samples.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Sample:
    at: float  # seconds since start
    main_kb: int
    tree_kb: int  # the main process and all its descendants
    processes: int
    tree_pss_kb: int = 0  # the same, proportional (pages shared between them counted once)


@dataclass
class Measured:
    wall: float
    user: float
    system: float
    max_rss_kb: int  # largest single process (kernel's ru_maxrss)
    exit_code: int
    samples: list[Sample] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.user + self.system

    def peak(self, what: str) -> int:
        return max((getattr(s, what) for s in self.samples), default=0)

    def quartiles(self, what: str) -> tuple[float, float]:
        """Mean of the first and of the last quarter of the samples (KB)."""
        values = [getattr(s, what) for s in self.samples]
        if len(values) < 4:
            return (float(values[0]), float(values[-1])) if values else (0.0, 0.0)
        quarter = len(values) // 4
        return (sum(values[:quarter]) / quarter, sum(values[-quarter:]) / quarter)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: RSS with each shared page split between its sharers."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(p) for p in text)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def run(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.25,
    log: Path | None = None,
) -> Measured:
    """Run `command` to completion and measure it (its output goes to `log`)."""
    out = log.open("wb") if log else subprocess.DEVNULL
    started = time.perf_counter()
    try:
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=out)
        samples: list[Sample] = []
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            tree = _tree(child.pid)
            sizes = [_rss_kb(p) for p in tree]
            samples.append(
                Sample(
                    time.perf_counter() - started,
                    sizes[0],
                    sum(sizes),
                    len(tree),
                    sum(_pss_kb(p) for p in tree),
                )
            )
            time.sleep(interval)
        wall = time.perf_counter() - started
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        user=usage.ru_utime,
        system=usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,
        exit_code=child.returncode,
        samples=samples,
    )
