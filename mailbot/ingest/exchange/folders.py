"""The Exchange folders mailbot files messages into, and moving a message there exactly once.

Processed and Exceptions are found by name directly under the top of the mailbox's folder
tree (the distinguished `msgfolderroot`, which Outlook shows as the mailbox itself, whatever
its localised display name) and created there when missing. A move changes a message's EWS
id, so a move that happened just before a crash cannot be repeated by id: before moving,
the message's Internet Message-ID is recorded with the target, and a move that finds the
message gone looks for it in the target by that Message-ID instead.
"""

from __future__ import annotations

import json
from typing import Any

from exchangelib import errors as ews
from exchangelib.folders import Messages
from exchangelib.properties import ItemId
from exchangelib.services import CreateFolder, MoveItem

from mailbot.config.mail import FolderNames
from mailbot.ingest.exchange.connect import ExchangeConnection, ExchangeError
from mailbot.ingest.mailbox import MessageNotFoundError
from mailbot.models import Folder
from mailbot.store import Store

_GONE = (ews.ErrorItemNotFound, ews.ErrorInvalidIdMalformed)


class MailFolders:
    """The inbox and the named folders of one mailbox, looked up once and remembered."""

    def __init__(self, connection: ExchangeConnection, names: FolderNames) -> None:
        self._connection = connection
        self._names = {Folder.PROCESSED: names.processed, Folder.EXCEPTIONS: names.exceptions}
        self._found: dict[Folder, Any] = {}

    def name(self, folder: Folder) -> str:
        if folder is Folder.INBOX:
            return "Inbox"
        if folder not in self._names:
            raise ValueError(f"mailbot keeps no {folder.value} folder in Exchange")
        return self._names[folder]

    def get(self, folder: Folder, *, create: bool = True) -> Any:
        """The folder (an exchangelib Folder); None when missing and `create` is False.
        Call inside `ExchangeConnection.run`."""
        if folder in self._found:
            return self._found[folder]
        account = self._connection.account
        if folder is Folder.INBOX:
            found = account.inbox
        else:
            found = self._find(self.name(folder))
            if found is None and create:
                found = self._create(self.name(folder))
        if found is not None:
            self._found[folder] = found
        return found

    def inbox(self) -> Any:
        return self.get(Folder.INBOX)

    def _find(self, name: str) -> Any:
        try:
            return self._connection.account.msg_folder_root // name
        except ews.ErrorFolderNotFound:
            return None

    def _create(self, name: str) -> Any:
        account = self._connection.account
        root = account.msg_folder_root
        folder = Messages(parent=root, name=name)
        try:
            # The service, not `folder.save()`: that loads the whole folder tree first.
            created = CreateFolder(account=account).get(parent_folder=root, folders=[folder])
        except ews.ErrorFolderExists:  # made meanwhile, by a person or another process
            found = self._find(name)
            if found is None:
                raise
            return found
        folder.id, folder.changekey = created.id, created.changekey
        return folder


class Mover:
    """Moves by EWS id, idempotently (see the module docstring)."""

    def __init__(
        self, connection: ExchangeConnection, folders: MailFolders, state: Store, address: str
    ) -> None:
        self._connection = connection
        self._folders = folders
        self._state = state
        self._intent_key = f"exchange:{address}:move"
        self.message_ids: dict[str, str] = {}  # ref -> Message-ID, noted when fetched

    def move(self, ref: str, source: Folder, target: Folder) -> str:
        target_name = self._folders.name(target)
        destination = self._connection.run(
            f"opening the {target_name} folder", lambda: self._folders.get(target)
        )
        message_id = self.message_ids.get(ref)
        if message_id is None:
            exists, message_id = self._connection.run(
                "looking up a message", lambda: _message_id(self._connection.account, ref)
            )
            if not exists:
                return self._find_moved(ref, source, destination)
        if message_id:
            self._state.state_set(
                self._intent_key,
                json.dumps({"ref": ref, "message_id": message_id, "target": target.value}),
            )
        try:
            new_ref = self._connection.run(
                f"moving a message to {target_name}",
                lambda: _move(self._connection.account, ref, destination),
            )
        except ExchangeError as exc:
            if not issubclass(exc.error_type, _GONE):
                raise
            new_ref = None  # moved already, by an attempt whose answer was lost
        if new_ref is None:
            return self._find_moved(ref, source, destination)
        self.message_ids.pop(ref, None)
        return new_ref

    def _find_moved(self, ref: str, source: Folder, destination: Any) -> str:
        """The message's id in `destination`, found by the Message-ID noted for `ref`."""
        message_id = self.message_ids.get(ref)
        if message_id is None:
            intent = json.loads(self._state.state_get(self._intent_key) or "{}")
            message_id = intent.get("message_id") if intent.get("ref") == ref else None
        found = (
            None
            if message_id is None
            else self._connection.run(
                "finding a moved message", lambda: _find_by_message_id(destination, message_id)
            )
        )
        if found is None:
            raise MessageNotFoundError(ref, source)
        self.message_ids.pop(ref, None)
        return found


def _message_id(account: Any, ref: str) -> tuple[bool, str | None]:
    """Whether the item exists, and its Internet Message-ID (if it has one)."""
    [result] = list(account.fetch(ids=[(ref, None)], only_fields=["message_id"]))
    if isinstance(result, _GONE):
        return False, None
    if isinstance(result, Exception):
        raise result
    return True, result.message_id or None


def _move(account: Any, ref: str, destination: Any) -> str | None:
    """The new id; None when the server did not say (it need not, e.g. for some versions)."""
    results = list(MoveItem(account=account).call(items=[ItemId(id=ref)], to_folder=destination))
    for result in results:
        if isinstance(result, Exception):
            raise result
    new_id = results[0][0] if results and results[0] is not None else None
    return str(new_id) if new_id else None


def _find_by_message_id(folder: Any, message_id: str) -> str | None:
    matches = folder.filter(message_id=message_id).order_by("-datetime_received")
    for item in matches.only("datetime_received")[:1]:
        return str(item.id)
    return None
