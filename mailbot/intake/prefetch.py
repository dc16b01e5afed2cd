"""Opening the next referrals on the other cores while the current one is decided.

After an outage the inbox holds a backlog, and every encrypted referral costs a key
derivation (100,000 hash rounds, a tenth of a second of one core) before anything can be
decided, so one process drains it at one core's speed. Opening a referral
(`stages.open_referral`: find the form, decrypt, check and read it) is a pure function of
the email, the candidate passwords and the limits, so it can run in worker processes ahead of
time. Everything with an effect (the ledger, the case, the outbox, the move) stays in the main
process, one message at a time in arrival order, exactly as without workers: a worker's result
is only a value that `Intake.process` uses instead of opening the email itself (or, when no
worker has begun it yet, the caller opens it: `Claims`). So nothing is
committed by a worker, a crash loses only work that was not committed anyway, and a worker
that fails in any way (a document that kills the decoder, a broken pool) just means that
message is opened again in the main process, where the usual poison handling applies.

The candidate passwords are chosen in the main process (from the configuration as it is
then), and a result opened with other passwords or limits (a reload in between) is not used.
Workers are started with "spawn", never "fork" (the daemon has threads and open database and
mailbox connections), only when a backlog is seen, and are stopped when it is drained, so an
idle daemon holds no extra processes; they die with the daemon even if it is killed with
SIGKILL. The look-ahead is bounded in messages and in bytes, and a large email is left to
the main process at its turn (`LARGE_EMAIL_BYTES`). As with anything started by
"spawn", a program that drives the runner itself must guard its entry point with
`if __name__ == "__main__":` (`python -m mailbot` and the `mailbot` command are guarded), or
set `service.workers = 1`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from types import TracebackType

from mailbot.ingest.mime.parse import parse_email
from mailbot.ingest.passwords import is_password_email
from mailbot.intake import stages
from mailbot.models import DocumentLimits, MailboxMessage, ParsedEmail

Opened = stages.OpenedForm | stages.Unopened
Opener = Callable[[ParsedEmail, Sequence[str], DocumentLimits], Opened]
LOOKAHEAD_BYTES = 8 * 1024 * 1024  # raw message bytes held ahead of the current message
# A larger email (photographs) is neither parsed nor opened ahead: the caller does both at its
# turn. Sending it to a worker would copy it (pickled) while it is held here as well, and a
# few of them parsed ahead would hold their attachments all at once. (The runner also frees
# memory after one.)
LARGE_EMAIL_BYTES = 4 * 1024 * 1024
_PR_SET_PDEATHSIG = 1


@dataclass
class Prepared:
    """A message parsed in the main process, and its opening, perhaps under way in a worker."""

    email: ParsedEmail
    limits: DocumentLimits  # what `email` was parsed, and is being opened, with
    passwords: tuple[str, ...]
    future: Future[Opened | None] | None = None
    number: int = 0  # its claim number (`Claims`)
    claims: Claims | None = None

    def opened(self, passwords: Sequence[str], limits: DocumentLimits) -> Opened | None:
        """The worker's result if it opened the email with exactly these passwords and limits;
        None if the caller must open it itself (none was started, no worker had begun it yet,
        the configuration changed, or the worker failed in any way: whatever the document
        does, it does again there)."""
        future, self.future = self.future, None
        if future is None:
            return None
        if tuple(passwords) != self.passwords or limits != self.limits:
            future.cancel()
            return None
        if not future.done() and self.claims is not None and self.claims.take(self.number):
            future.cancel()  # no worker has begun it (one that gets to it will skip it)
            return None
        try:
            return future.result()
        except Exception:  # a dead worker, a broken pool, or the document's own error
            return None


class Claims:
    """Who opens each message sent ahead: the first of the workers and the caller to ask.

    Workers are slow to start (a new interpreter importing the libraries: most of a second),
    and a pool's queue is handed to them eagerly, so a message submitted ahead cannot be
    taken back once queued. Rather than wait, the caller claims a message no worker has
    begun and opens it itself; the worker that gets to it later finds it claimed and skips
    it. Claims live in shared memory, given to the workers when they are started."""

    def __init__(self, slots: int) -> None:
        context = get_context("spawn")
        self._lock = context.Lock()
        self._owners = context.RawArray(ctypes.c_longlong, [-1] * slots)

    def take(self, number: int) -> bool:
        """Claim message `number`: False if it was claimed already (by anyone)."""
        slot = number % len(self._owners)
        with self._lock:
            if self._owners[slot] == number:
                return False
            self._owners[slot] = number
            return True


class Lookahead:
    """Iterate over `messages` as (message, Prepared), opening up to `2 * workers` ahead.

    `passwords_for(email)` gives the candidate passwords (called in the main process);
    `limits()` the current document limits. With `workers` <= 1 nothing runs ahead and every
    email is opened by the caller, as before. Use as a context manager: leaving it stops the
    workers (what they had not finished is dropped; nothing of it was committed).
    """

    def __init__(
        self,
        messages: Iterator[MailboxMessage],
        *,
        passwords_for: Callable[[ParsedEmail], Sequence[str]],
        limits: Callable[[], DocumentLimits],
        workers: int,
        opener: Opener = stages.open_referral,
        max_bytes: int = LOOKAHEAD_BYTES,
    ) -> None:
        self._source = messages
        self._passwords_for = passwords_for
        self._limits = limits
        self.workers = max(1, workers)
        self._opener = opener
        self._max_bytes = max_bytes
        self._pending: deque[tuple[MailboxMessage, Prepared | None]] = deque()
        self._pending_bytes = 0
        self._exhausted = False
        self._pool: ProcessPoolExecutor | None = None
        self._claims: Claims | None = None
        self._submitted = 0
        self.pools_started = 0

    def __enter__(self) -> Lookahead:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[MailboxMessage, Prepared | None]]:
        if self.workers <= 1:
            for message in self._source:
                yield message, None
                del message  # not held while the next one is read (see `MailboxMessage`)
            return
        while True:
            self._fill()
            if not self._pending:
                return
            message, prepared = self._pending.popleft()
            self._pending_bytes -= message.size
            yield message, prepared
            del message, prepared

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def _fill(self) -> None:
        while (
            not self._exhausted
            and len(self._pending) < 2 * self.workers
            and self._pending_bytes < self._max_bytes
        ):
            message = next(self._source, None)
            if message is None:
                self._exhausted = True
                break
            prepared = None
            if message.size <= LARGE_EMAIL_BYTES:
                limits = self._limits()
                email = parse_email(message.raw, limits)
                prepared = Prepared(email, limits, tuple(self._passwords_for(email)))
            self._pending.append((message, prepared))
            self._pending_bytes += message.size
            del message, prepared
        if self._pool is None and len(self._pending) < 2:
            return  # no backlog: the caller opens this one itself, as without workers
        for _, ahead in self._pending:
            if ahead is not None and ahead.future is None and not is_password_email(ahead.email):
                ahead.future = self._submit(ahead)

    def _submit(self, prepared: Prepared) -> Future[Opened | None] | None:
        for _ in range(2):  # a pool broken by an earlier document is replaced once
            if self._pool is None:
                # More slots than messages can be ahead at once, so none is reused while a
                # worker may still look at it.
                self._claims = Claims(slots=4 * self.workers + 8)
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=get_context("spawn"),
                    initializer=start_worker,
                    initargs=(os.getpid(), self._claims),
                )
                self.pools_started += 1
            self._submitted += 1
            prepared.number, prepared.claims = self._submitted, self._claims
            try:
                return self._pool.submit(
                    open_unclaimed,
                    self._opener,
                    prepared.number,
                    prepared.email,
                    prepared.passwords,
                    prepared.limits,
                )
            except (BrokenProcessPool, RuntimeError):
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        return None


_IN_WORKER: dict[str, Claims] = {}  # a worker process's claims, set when it starts


def start_worker(parent: int, claims: Claims) -> None:
    """Worker initializer: follow the daemon (`follow_parent`) and keep the shared claims."""
    follow_parent(parent)
    _IN_WORKER["claims"] = claims


def open_unclaimed(
    opener: Opener,
    number: int,
    email: ParsedEmail,
    passwords: Sequence[str],
    limits: DocumentLimits,
) -> Opened | None:
    """In a worker: open the email, unless the caller has claimed it already (None)."""
    claims = _IN_WORKER.get("claims")
    if claims is not None and not claims.take(number):
        return None
    return opener(email, passwords, limits)


def follow_parent(parent: int) -> None:
    """Worker initializer: end when the daemon ends, however it ends. A daemon killed with
    SIGKILL (or by the OOM killer) runs no clean-up, and its workers would otherwise live on
    as orphans, one set per restart."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        threading.Event().wait(1.0)
    os._exit(0)


def default_workers(configured: int | None) -> int:
    """`service.workers`, or one per CPU this process may use."""
    if configured is not None:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
