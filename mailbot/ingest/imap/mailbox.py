"""A `Mailbox` on an IMAP server: the referrals mailbox as most organisations host it.

The Maildir backend's guarantees carry over. Messages are read with BODY.PEEK[] so the team
still sees them unread; a message leaves the inbox only by MOVE (RFC 6851), or by COPY, then
\\Deleted and UID EXPUNGE of that one UID (RFC 4315), so nothing else is ever expunged and
nothing is deleted without its copy. A ref is "<UIDVALIDITY>:<UID>"; when the server renumbers
a folder (a new UIDVALIDITY) a ref is found again by its Message-ID, and a move that a crash
interrupted is recognised in its target folder, so retrying any operation is harmless. IDLE
notices new mail as soon as the server reports it (Dovecot: within half a second), and a
dropped connection is re-opened with back-off.

A message's size (RFC822.SIZE) is asked before its body: one over the email size limit is
fetched as its header section only and handed on as a stand-in (`oversized`), so 100 MB is
never downloaded to be refused. The protocol is IMAPClient's (`imapwire`); Microsoft 365
mailboxes sign in with XOAUTH2 (`auth = "oauth2"`), which Exchange Online requires.
"""

from __future__ import annotations

import imaplib
import json
import re
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import partial

from imapclient import DELETED, IMAPClient

from mailbot.config.mail import ImapMailboxSettings
from mailbot.errors import ConfigError
from mailbot.ingest.imap import wire as imapwire
from mailbot.ingest.imap.check import diagnose
from mailbot.ingest.imap.session import ImapSession
from mailbot.ingest.imap.wire import Credential
from mailbot.ingest.mailbox import MailboxError, MessageNotFoundError
from mailbot.ingest.mime.bounds import HEADER_SECTION_BYTES
from mailbot.ingest.mime.oversized import oversized, stand_in
from mailbot.logs import get_logger
from mailbot.models import DocumentLimits, Folder, MailboxMessage
from mailbot.store import Store

_UID_REF = re.compile(r"(\d+):(\d+)")
_DONE_FOLDERS = frozenset({Folder.PROCESSED, Folder.EXCEPTIONS})
_REMEMBERED = 10_000  # refs whose Message-ID is kept in memory (a busy week's mail)
_NOOP_SECONDS = 5.0  # without IDLE, ask the server for news this often
_HEADER = f"BODY.PEEK[HEADER]<0.{HEADER_SECTION_BYTES + 1}>"  # bounded, even if hostile


class ImapMailbox:
    """The mailbox `settings` describes, logged in with `credential` (a password, or the
    tokens of an app registration for XOAUTH2); `state` keeps UIDVALIDITY and the move
    journal; messages over `max_bytes` are handed on as stand-ins."""

    def __init__(
        self,
        settings: ImapMailboxSettings,
        credential: Credential,
        state: Store | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_bytes: int = DocumentLimits().max_email_bytes,
    ) -> None:
        self.settings = settings
        self._credential = credential
        self._max_bytes = max_bytes
        self._state = state
        try:
            self._ssl = ssl_context or ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None
            )
        except OSError as exc:
            raise ConfigError("mailbox.ca_file", "cannot be read as a CA bundle") from exc
        self._session = ImapSession(settings, credential, self._ssl)
        self._existing: set[str] = set()
        self._message_ids: dict[str, str] = {}
        self._uidvalidity = self._state.state_get(self._uidvalidity_key) if self._state else None
        self._fetched: tuple[int, int | None] | None = None  # inbox (UIDVALIDITY, UIDNEXT)
        self._log = get_logger()

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the Mailbox protocol -----------------------------------------------------------

    def fetch_new(self) -> Iterator[MailboxMessage]:
        """Every message in the inbox, lowest UID (earliest arrival) first, left unread."""
        uidvalidity, uids = self._session.run("search", self._inbox_uids)
        for uid in uids:
            message = self._session.run(
                "fetch", partial(self._fetch, uidvalidity=uidvalidity, uid=uid)
            )
            if message is not None:
                yield message
                del message  # not held while the next one is fetched (see `MailboxMessage`)

    def read(self, ref: str) -> bytes:
        """The bytes of inbox message `ref`, fetched again (`Rereadable`)."""
        match = _UID_REF.fullmatch(ref)
        message = match and self._session.run(
            "fetch", partial(self._fetch, uidvalidity=int(match.group(1)), uid=int(match.group(2)))
        )
        if not message:
            raise MessageNotFoundError(ref, Folder.INBOX)
        return message.raw

    def mark_done(self, ref: str, folder: Folder) -> str:
        if folder not in _DONE_FOLDERS:
            raise ValueError(f"mark_done moves to Processed or Exceptions, not {folder.value}")
        return self.refile(ref, Folder.INBOX, folder)

    def refile(self, ref: str, source: Folder, target: Folder) -> str:
        names = (self._folder_name(source), self._folder_name(target))
        return self._session.run(
            "move", partial(self._move, ref=ref, names=names, source=source, target=target)
        )

    def wait_for_mail(self, timeout: float) -> bool:
        """IDLE (re-issued every `idle_seconds`) until news or `timeout`; True after a reconnect."""
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            client = self._session.client()
            if not self._session.selected(self.settings.inbox):
                # SELECT reports, and so swallows, any news since the last fetch: compare
                uidvalidity = self._session.select(client, self.settings.inbox)
                if (uidvalidity, self._session.uidnext) != self._fetched:
                    return True
            while (remaining := deadline - time.monotonic()) > 0:
                if self._idle(client, min(remaining, self.settings.idle_seconds)):
                    return True
            return False
        except imapwire.TRANSIENT:
            pass
        except imaplib.IMAP4.error as exc:
            raise self._session.failure("wait", exc) from exc
        self._session.reconnect(deadline)
        return True  # mail may have arrived unseen while the connection was down

    def close(self) -> None:
        """LOGOUT; safe to call more than once (a later call re-connects on demand)."""
        self._session.close()
        closing = getattr(self._credential, "close", None)
        if callable(closing):
            closing()

    def check(self) -> list[str]:
        """Problems a fresh connection finds (DNS, TLS, login, folders); creates nothing."""
        return diagnose(self.settings, self._credential, self._ssl)

    # -- operations, each run on a live connection ----------------------------------------

    def _inbox_uids(self, client: IMAPClient) -> tuple[int, list[int]]:
        uidvalidity = self._session.select(client, self.settings.inbox, fresh=True)
        self._fetched = (uidvalidity, self._session.uidnext)
        if self._uidvalidity != str(uidvalidity):
            if self._uidvalidity is not None:  # all are offered again (new refs); the intake
                # ledger knows them by Message-ID, so each is only re-filed, not re-processed
                self._log.warning("imap.uidvalidity_changed", folder=self.settings.inbox)
            self._uidvalidity = str(uidvalidity)
            if self._state is not None:
                self._state.state_set(self._uidvalidity_key, self._uidvalidity)
        return uidvalidity, sorted(client.search("ALL"))

    def _fetch(self, client: IMAPClient, *, uidvalidity: int, uid: int) -> MailboxMessage | None:
        if self._session.select(client, self.settings.inbox) != uidvalidity:
            return None  # renumbered meanwhile: the next fetch_new offers it under its new ref
        about = client.fetch([uid], ["INTERNALDATE", "RFC822.SIZE"]).get(uid)
        if about is None:
            return None  # moved away meanwhile (by a person, or another mailbot)
        when = imapwire.received_at(about.get(b"INTERNALDATE")) or datetime.now(UTC)
        size = about.get(b"RFC822.SIZE")
        ref = f"{uidvalidity}:{uid}"
        if oversized(size if isinstance(size, int) else None, self._max_bytes):
            head = self._body(client, uid, _HEADER)
            if head is None:
                return None
            self._log.warning("mailbox.oversized", mailbox="imap", size=size)
            self._remember(ref, _message_id(head))
            return stand_in(ref, head, size=int(size), limit=self._max_bytes, received_at=when)
        raw = self._body(client, uid, "BODY.PEEK[]")
        if raw is None:
            return None
        self._remember(ref, _message_id(raw))
        return MailboxMessage(ref=ref, raw=raw, received_at=when)

    @staticmethod
    def _body(client: IMAPClient, uid: int, item: str) -> bytes | None:
        """The bytes FETCH `item` gives for `uid` (the reply names it without .PEEK)."""
        found = client.fetch([uid], [item]).get(uid) or {}
        for key, value in found.items():
            if isinstance(key, bytes) and key.startswith(b"BODY[") and isinstance(value, bytes):
                return value
        return None

    def _move(
        self,
        client: IMAPClient,
        *,
        ref: str,
        names: tuple[str, str],
        source: Folder,
        target: Folder,
    ) -> str:
        source_name, target_name = names
        message_id = self._message_id_for(ref)
        uid = self._locate(client, source_name, ref, message_id)
        if uid is None:
            moved = self._find(client, target_name, message_id) if source is not target else None
            if moved is None:
                raise MessageNotFoundError(ref, source)
            return moved  # moved already, by a run that crashed before recording it
        if source is target:
            return ref
        message_id = message_id or self._header_id(client, uid)
        self._journal(ref, message_id)
        self._ensure_folder(client, target_name)
        self._session.select(client, source_name)
        new_ref = self._transfer(client, uid, source_name, target_name, message_id)
        new_ref = new_ref or f"{target.value}:{message_id or ''}"
        self._remember(new_ref, message_id)
        return new_ref

    def _transfer(
        self,
        client: IMAPClient,
        uid: int,
        source_name: str,
        target_name: str,
        message_id: str | None,
    ) -> str | None:
        """MOVE, or COPY + \\Deleted + UID EXPUNGE of this UID only; the new ref if known."""
        imapwire.forget_copyuid(client)
        if "MOVE" in self._session.capabilities:
            client.move([uid], target_name)
        elif "UIDPLUS" in self._session.capabilities:
            copied = self._find(client, target_name, message_id)  # a crash after the COPY
            self._session.select(client, source_name)
            if copied is None:
                client.copy([uid], target_name)
            found = imapwire.copyuid(client)
            client.add_flags([uid], [DELETED], silent=True)
            client.uid_expunge([uid])
            return copied or (f"{found[0]}:{found[1]}" if found else None)
        else:
            raise MailboxError(
                f"IMAP {self.settings.host} offers neither MOVE nor UIDPLUS, so "
                "a message cannot be moved without risking others"
            )
        found = imapwire.copyuid(client)
        return f"{found[0]}:{found[1]}" if found else None

    def _locate(
        self, client: IMAPClient, name: str, ref: str, message_id: str | None
    ) -> int | None:
        """The UID of `ref` in folder `name`, by its UID, else (renumbered) its Message-ID."""
        uidvalidity = self._session.select(client, name)
        parsed = _UID_REF.fullmatch(ref)
        if parsed and int(parsed[1]) == uidvalidity:
            return int(parsed[2]) if client.search(["UID", parsed[2]]) else None
        uids = _search_id(client, message_id)
        return uids[0] if uids else None

    def _find(self, client: IMAPClient, name: str, message_id: str | None) -> str | None:
        """The ref of the message with `message_id` in folder `name`, if it is there."""
        if message_id is None or not client.folder_exists(name):
            return None
        uidvalidity = self._session.select(client, name)
        uids = _search_id(client, message_id)
        return f"{uidvalidity}:{uids[-1]}" if uids else None

    def _header_id(self, client: IMAPClient, uid: int) -> str | None:
        head = self._body(client, uid, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        return _message_id(head) if head is not None else None

    def _ensure_folder(self, client: IMAPClient, name: str) -> None:
        if name in self._existing or client.folder_exists(name):
            self._existing.add(name)
            return
        try:
            client.create_folder(name)
        except imaplib.IMAP4.error:
            if not client.folder_exists(name):  # lost a race is fine
                raise imaplib.IMAP4.error("CREATE refused") from None
        client.subscribe_folder(name)  # so mail clients show it
        self._log.info("imap.folder_created", folder=name)
        self._existing.add(name)

    def _idle(self, client: IMAPClient, seconds: float) -> bool:
        if "IDLE" in self._session.capabilities:
            return imapwire.idle(client, seconds)
        time.sleep(min(seconds, _NOOP_SECONDS))
        _, responses = client.noop()
        return any(
            isinstance(r, tuple)
            and len(r) >= 2
            and (r[1] == b"EXISTS" or (r[1] == b"RECENT" and r[0] != 0))
            for r in responses
        )

    # -- Message-IDs: how a ref is found again after renumbering or a crash ---------------

    def _remember(self, ref: str, message_id: str | None) -> None:
        if message_id is not None:
            self._message_ids[ref] = message_id
            while len(self._message_ids) > _REMEMBERED:
                del self._message_ids[next(iter(self._message_ids))]

    def _message_id_for(self, ref: str) -> str | None:
        if ref in self._message_ids:
            return self._message_ids[ref]
        if not _UID_REF.fullmatch(ref) and ":" in ref:  # "<folder>:<message-id>"
            return ref.partition(":")[2] or None
        journal = self._state.state_get(self._journal_key) if self._state else None
        moving = json.loads(journal) if journal else None
        return str(moving[1]) if isinstance(moving, list) and moving[0] == ref else None

    def _journal(self, ref: str, message_id: str | None) -> None:
        """Note the move about to happen, so a crash right after it can be recognised."""
        if self._state is not None and message_id is not None:
            self._state.state_set(self._journal_key, json.dumps([ref, message_id]))

    @property
    def _uidvalidity_key(self) -> str:
        return (
            f"imap:{self.settings.host}:{self.settings.username}:{self.settings.inbox}:uidvalidity"
        )

    @property
    def _journal_key(self) -> str:
        return f"imap:{self.settings.host}:{self.settings.username}:moving"

    def _folder_name(self, folder: Folder) -> str:
        names = {
            Folder.INBOX: self.settings.inbox,
            Folder.PROCESSED: self.settings.folders.processed,
            Folder.EXCEPTIONS: self.settings.folders.exceptions,
        }
        if folder not in names:
            raise ValueError(f"an IMAP mailbox has no {folder.value} folder")
        return names[folder]


def _search_id(client: IMAPClient, message_id: str | None) -> list[int]:
    if message_id is None or not message_id.isascii() or "\r" in message_id or "\n" in message_id:
        return []  # not searchable as a quoted string: found by UID only
    return sorted(client.search(["HEADER", "Message-ID", message_id]))


def _message_id(raw: bytes) -> str | None:
    value = BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID")
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None
