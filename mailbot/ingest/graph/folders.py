"""The Exchange Online folders mailbot files into, and moving a message there through Graph.

Processed and Exceptions are found by display name directly under the top of the mailbox's
folder tree (Graph's `mailFolders` collection, which Outlook shows as the mailbox itself)
and created there when missing; two mailbots (or a person) creating one at once is
harmless, the loser finds the winner's. Nothing here deletes: a message only ever moves.

mailbot asks Graph for immutable ids (`Prefer: IdType="ImmutableId"`), which stay the same
when a message moves within the mailbox. A move whose answer was lost (a crash, a dropped
connection) can therefore simply be repeated: moving a message into the folder it is
already in leaves it there, and the ref stays valid wherever the message went.
"""

from __future__ import annotations

from urllib.parse import quote

from mailbot.config.mail import FolderNames
from mailbot.ingest.graph.client import GraphClient, GraphError
from mailbot.ingest.graph.delta import IMMUTABLE_IDS, user_path
from mailbot.ingest.mailbox import MessageNotFoundError
from mailbot.models import Folder

_PREFER = {"Prefer": IMMUTABLE_IDS}


class GraphFolders:
    """The inbox and the named folders of one mailbox; ids looked up once and remembered."""

    def __init__(self, client: GraphClient, address: str, names: FolderNames) -> None:
        self._client = client
        self._user = user_path(address)
        self._names = {Folder.PROCESSED: names.processed, Folder.EXCEPTIONS: names.exceptions}
        self._ids: dict[Folder, str] = {}

    def name(self, folder: Folder) -> str:
        if folder is Folder.INBOX:
            return "Inbox"
        if folder not in self._names:
            raise ValueError(f"mailbot keeps no {folder.value} folder in Exchange Online")
        return self._names[folder]

    def id_of(self, folder: Folder, *, create: bool = True) -> str | None:
        """The folder's Graph id; None when missing and `create` is False."""
        if folder in self._ids:
            return self._ids[folder]
        if folder is Folder.INBOX:
            found: str | None = "inbox"  # Graph's well-known name works wherever an id does
        else:
            found = self._find(self.name(folder))
            if found is None and create:
                found = self._create(self.name(folder))
        if found is not None:
            self._ids[folder] = found
        return found

    def move(self, ref: str, source: Folder, target: Folder) -> str:
        """Move message `ref` into `target`; its (immutable) id there."""
        destination = self.id_of(target)
        try:
            moved = self._client.json(
                f"moving a message to {self.name(target)}",
                "POST",
                f"{self._user}/messages/{quote(ref, safe='')}/move",
                json={"destinationId": destination},
                headers=_PREFER,
            )
        except GraphError as exc:
            if exc.gone:  # deleted by a person, or a ref from another mailbox
                raise MessageNotFoundError(ref, source) from None
            raise
        new_ref = moved.get("id")
        return new_ref if isinstance(new_ref, str) and new_ref else ref

    def _find(self, name: str) -> str | None:
        body = self._client.json(
            f"looking for the {name} folder",
            "GET",
            f"{self._user}/mailFolders",
            params={
                "$filter": f"displayName eq '{_odata_string(name)}'",
                "$select": "id,displayName",
            },
        )
        for entry in body.get("value") or []:
            if isinstance(entry, dict) and entry.get("displayName") == name:
                folder_id = entry.get("id")
                if isinstance(folder_id, str):
                    return folder_id
        return None

    def _create(self, name: str) -> str:
        try:
            made = self._client.json(
                f"creating the {name} folder",
                "POST",
                f"{self._user}/mailFolders",
                json={"displayName": name, "isHidden": False},
            )
        except GraphError as exc:
            if exc.status != 409:  # ErrorFolderExists: made meanwhile
                raise
            made = {"id": self._find(name)}
        folder_id = made.get("id")
        if not isinstance(folder_id, str) or not folder_id:
            raise GraphError(f"Graph: creating the {name} folder failed: no folder id returned")
        return folder_id


def _odata_string(value: str) -> str:
    """A value for inside an OData string literal: single quotes are doubled."""
    return value.replace("'", "''")
