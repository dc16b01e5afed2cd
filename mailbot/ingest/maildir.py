"""A `Mailbox` on local Maildirs: the demo's mailbox, the tests', and a mail server's spool.

Maildir is the one mailbox format whose every operation is a single atomic `rename`, so it
suits a service that must never lose or duplicate a referral: a crash leaves each message
either where it was or where it was going, never in between and never half-written. Under
`root` live the Maildirs `Inbox`, `Processed`, `Exceptions` and `Outbox`. Nothing here deletes
a file; a message is only renamed into another folder's `cur/`, and the directories are
fsynced so the move survives a power cut. New mail is noticed within a second through inotify
(kept open for the mailbox's lifetime, so mail arriving between two waits is not missed), or
by comparing directory listings every half second where inotify is unavailable.

A folder that cannot be written (its permissions changed, the immutable attribute, a full
or read-only disk) is a `FolderUnwritable` naming the folder, not a bare OSError: the runner
then holds back only the emails bound for that folder and goes on with the rest, instead
of one folder stopping all intake.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from mailbot.errors import ConfigError
from mailbot.ingest.mailbox import MailboxError, MessageNotFoundError
from mailbot.models import Folder, MailboxMessage

POLL_SECONDS = 0.5
_DONE_FOLDERS = frozenset({Folder.PROCESSED, Folder.EXCEPTIONS})
_SUBDIRS = ("cur", "new", "tmp")
# Delivery agents name files "<seconds>.<...M<microseconds>...>.<host>"; order ties by that.
_NAME_TIME = re.compile(r"(\d+)\.(?:[^.]*?M(\d+))?")
_DIR_MODE = 0o700
_FILE_MODE = 0o600


class FolderUnwritable(MailboxError):
    """A message cannot be moved into `folder`: the folder refuses writes."""

    def __init__(self, folder: Folder, reason: str) -> None:
        super().__init__(f"the {folder.value} folder cannot be written ({reason})")
        self.folder = folder
        self.reason = reason


class MaildirMailbox:
    """Maildirs under `root`; `use_inotify=False` forces the polling fallback (for tests)."""

    def __init__(self, root: Path, *, use_inotify: bool = True) -> None:
        self.root = Path(root)
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            _ensure_dir(self.root)
            for folder in Folder:
                _ensure_dir(self.root / folder.value)
                for sub in _SUBDIRS:
                    _ensure_dir(self.root / folder.value / sub)
        except OSError as exc:
            raise ConfigError(
                "mailbox.path",
                f"the Maildir {self.root} cannot be created ({exc.strerror}:"
                f" {exc.filename}); correct [mailbox] path, or create it for the service"
                " user with mode 0700",
            ) from None
        self._counter = itertools.count()
        self._host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
        self._inotify = _open_inotify(self._watched()) if use_inotify else None
        self._seen = self._inbox_names()

    def __enter__(self) -> MaildirMailbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def uses_inotify(self) -> bool:
        return self._inotify is not None

    def fetch_new(self) -> Iterator[MailboxMessage]:
        """Inbox messages in `new/` and `cur/`, oldest delivery first (mtime, then file name)."""
        entries: list[tuple[int, tuple[int, int, str], Path]] = []
        for sub in ("new", "cur"):
            directory = self._dir(Folder.INBOX, sub)
            for name in _names(directory):
                try:
                    info = os.stat(directory / name)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    entries.append((info.st_mtime_ns, _name_order(name), directory / name))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        yielded: set[str] = set()
        for mtime_ns, _, path in entries:
            key = _key(path.name)
            raw = None if key in yielded else self._read(path, key)
            if raw is None:
                continue  # a duplicate name, or vanished meanwhile (taken by another reader)
            yielded.add(key)
            received_at = datetime.fromtimestamp(mtime_ns / 1_000_000_000, tz=UTC)
            message = MailboxMessage(ref=key, raw=raw, received_at=received_at)
            del raw  # the message holds the bytes, and can let go of them (`MailboxMessage`)
            yield message
            del message  # not held while the next one is read

    def mark_done(self, ref: str, folder: Folder) -> str:
        if folder not in _DONE_FOLDERS:
            raise ValueError(f"mark_done moves to Processed or Exceptions, not {folder.value}")
        return self.refile(ref, Folder.INBOX, folder)

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        """Rename the message into `target/cur/`, keeping its name (flagged seen)."""
        source_path = self._find(source, ref)
        if source_path is None:
            if source is not target and self._find(target, ref) is not None:
                return ref  # moved already, by a run that crashed before recording it
            raise MessageNotFoundError(ref, source)
        if source is target:
            return ref
        key = ref
        destination = self._dir(target, "cur") / _seen_name(key, source_path.name)
        if destination.exists() or (self._dir(target, "new") / key).exists():
            key = f"{ref}.dup{secrets.token_hex(4)}"  # never overwrite: keep both
            destination = self._dir(target, "cur") / _seen_name(key, source_path.name)
        try:
            os.rename(source_path, destination)
        except FileNotFoundError:
            if not source_path.parent.is_dir() or destination.parent.is_dir():
                raise  # the message itself went (taken by another reader)
            raise FolderUnwritable(target, "its cur folder is missing") from None
        except OSError as exc:  # EACCES, EPERM, EROFS, ENOSPC, ENOTDIR...
            raise FolderUnwritable(target, exc.strerror or type(exc).__name__) from None
        _fsync_dir(destination.parent)
        _fsync_dir(source_path.parent)
        return key

    def deliver(self, folder: Folder, raw: bytes) -> str:
        """Standard Maildir delivery: write to tmp/, fsync, rename into new/. Returns the ref."""
        key = self._unique_name()
        temporary = self._dir(folder, "tmp") / key
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, self._dir(folder, "new") / key)
        _fsync_dir(self._dir(folder, "new"))
        return key

    def wait_for_mail(self, timeout: float) -> bool:
        """True as soon as something lands in the inbox, False after `timeout` seconds."""
        if self._inotify is not None:
            try:
                return bool(list(self._inotify.read(timeout=max(0, round(timeout * 1000)))))
            except OSError:  # the watch broke (e.g. fd limits): fall back to polling
                self.close()
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            names = self._inbox_names()
            arrived = bool(names - self._seen)
            self._seen = names
            remaining = deadline - time.monotonic()
            if arrived or remaining <= 0:
                return arrived
            time.sleep(min(POLL_SECONDS, remaining))

    def close(self) -> None:
        """Release the inotify descriptor; idempotent. Later waits poll instead."""
        watcher, self._inotify = self._inotify, None
        if watcher is not None:
            watcher.close()

    def _dir(self, folder: Folder, sub: str) -> Path:
        return self.root / folder.value / sub

    def _watched(self) -> list[Path]:
        return [self._dir(Folder.INBOX, "new"), self._dir(Folder.INBOX, "cur")]

    def _inbox_names(self) -> set[str]:
        return {name for directory in self._watched() for name in _names(directory)}

    def _find(self, folder: Folder, ref: str) -> Path | None:
        """The message `ref` in `folder`. Looked up by the names mailbot itself gives first (a
        stat each), so a move costs the same in a Processed folder of 50,000 emails as in an
        empty one; the folder is listed only when a mail client changed the name's flags."""
        if not ref or ref.startswith(".") or "/" in ref or "\x00" in ref:
            return None  # a ref is a bare file name, never a path
        for likely in (self._dir(folder, "new") / ref, self._dir(folder, "cur") / f"{ref}:2,S"):
            if likely.is_file():
                return likely
        for sub in ("new", "cur"):
            directory = self._dir(folder, sub)
            for name in _names(directory):
                if _key(name) == ref:
                    return directory / name
        return None

    def read(self, ref: str) -> bytes:
        """The bytes of inbox message `ref`, read again (`Rereadable`)."""
        path = self._find(Folder.INBOX, ref)
        raw = self._read(path, ref) if path is not None else None
        if raw is None:
            raise MessageNotFoundError(ref, Folder.INBOX)
        return raw

    def _read(self, path: Path, key: str) -> bytes | None:
        """The file's bytes; if a mail client just moved it from new/ to cur/, from there."""
        for candidate in (path, self._find(Folder.INBOX, key)):
            try:
                return candidate.read_bytes() if candidate is not None else None
            except FileNotFoundError:
                continue
        return None

    def _unique_name(self) -> str:
        now = time.time_ns()
        seconds, micros = divmod(now // 1000, 1_000_000)
        unique = f"M{micros:06d}P{os.getpid()}Q{next(self._counter)}R{secrets.token_hex(4)}"
        return f"{seconds}.{unique}.{self._host}"


def _names(directory: Path) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def _key(name: str) -> str:
    return name.partition(":")[0]


def _seen_name(key: str, current_name: str) -> str:
    _, _, info = current_name.partition(":")
    flags = set(info[2:]) if info.startswith("2,") else set()
    return f"{key}:2,{''.join(sorted(flags | {'S'}))}"


def _name_order(name: str) -> tuple[int, int, str]:
    match = _NAME_TIME.match(name)
    if match is None:
        return (0, 0, name)
    return (int(match.group(1)), int(match.group(2) or 0), name)


def _ensure_dir(path: Path) -> None:
    try:
        os.mkdir(path, _DIR_MODE)
    except FileExistsError:
        return
    os.chmod(path, _DIR_MODE)  # mkdir's mode is filtered by the umask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_inotify(paths: list[Path]) -> Any:
    """An inotify watch on `paths`, or None where the platform or its limits refuse one."""
    try:
        from inotify_simple import INotify, flags
    except ImportError:
        return None
    try:
        watcher = INotify()
    except OSError:
        return None
    try:
        for path in paths:
            watcher.add_watch(path, flags.MOVED_TO | flags.CREATE | flags.CLOSE_WRITE)
    except OSError:
        watcher.close()
        return None
    return watcher
