"""The engine's inbound mailbox: a Maildir folder (standard library ``mailbox``) or an IMAP
folder over TLS (``imapclient``), read the same way.

A message is handed out until the caller says it is stored (:meth:`Inbox.done`), so a crash
between fetching and storing loses nothing: the next fetch hands it out again, and storage keeps
each message once. Stored messages are marked, not deleted: in a Maildir they move to ``cur``
with the seen flag; on IMAP they get the keyword ``$TakedownStored`` (so a person reading the
folder keeps their own ``\\Seen`` state), or ``\\Seen`` where the server allows no keywords.
"""

from __future__ import annotations

import contextlib
import mailbox
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient

STORED_KEYWORD = b"$TakedownStored"
DEFAULT_FOLDER = "INBOX"
DEFAULT_TIMEOUT = 30.0


class InboxUnusable(ValueError):
    """The inbox URL cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """One message as the mailbox holds it: its key there and its exact bytes."""

    key: str
    raw: bytes


class Inbox(Protocol):
    """Where inbound mail is read from."""

    label: str
    """Names the mailbox in evidence and logs, without credentials."""

    def fetch(self, limit: int) -> list[Fetched]:
        """Up to ``limit`` messages not yet marked stored, oldest first."""
        ...

    def done(self, keys: Sequence[str]) -> None:
        """Mark these messages stored."""
        ...

    def close(self) -> None: ...


class MaildirInbox:
    """A Maildir folder; messages waiting are those without the seen flag."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if not create and not (path / "new").is_dir():
            raise InboxUnusable(f"{path} is not a Maildir folder (no new/ inside)")
        self.path = path
        self.label = f"maildir:{path.name}"
        self._box = mailbox.Maildir(path, factory=None, create=create)

    def fetch(self, limit: int) -> list[Fetched]:
        waiting: list[tuple[float, str]] = []
        for key in self._box.iterkeys():
            message = self._box.get_message(key)
            if "S" not in message.get_flags():
                waiting.append((message.get_date(), key))
        waiting.sort()
        found = []
        for _, key in waiting[:limit]:
            with self._box.get_file(key) as handle:
                found.append(Fetched(key, handle.read()))
        return found

    def done(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                message = self._box.get_message(key)
            except KeyError:
                continue  # removed meanwhile by someone else
            message.set_subdir("cur")
            message.add_flag("S")
            self._box[key] = message

    def close(self) -> None:
        self._box.close()


class ImapInbox:
    """One folder of an IMAP server, over TLS from the first byte (``imaps``)."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        folder: str = DEFAULT_FOLDER,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.label = f"imaps:{user}@{host}:{port}/{folder}"
        self._client = IMAPClient(
            host,
            port=port,
            ssl=True,
            ssl_context=ssl_context or ssl.create_default_context(),
            timeout=timeout,
        )
        self._client.login(user, password)
        selected = self._client.select_folder(folder)
        self._validity = int(selected.get(b"UIDVALIDITY", 0))
        flags = selected.get(b"PERMANENTFLAGS", ())
        self._keywords = b"\\*" in flags or STORED_KEYWORD in flags

    def fetch(self, limit: int) -> list[Fetched]:
        criteria: list[Any] = (
            ["UNKEYWORD", STORED_KEYWORD.decode()] if self._keywords else ["UNSEEN"]
        )
        uids = sorted(self._client.search(criteria))[:limit]
        if not uids:
            return []
        answers = self._client.fetch(uids, ["BODY.PEEK[]"])
        found = []
        for uid in uids:
            data = answers.get(uid, {})
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes):
                found.append(Fetched(f"{self._validity}:{uid}", raw))
        return found

    def done(self, keys: Sequence[str]) -> None:
        uids = [int(k.partition(":")[2]) for k in keys if k.startswith(f"{self._validity}:")]
        if uids:
            flag = STORED_KEYWORD if self._keywords else b"\\Seen"
            self._client.add_flags(uids, [flag])

    def close(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, IMAPClient.Error):
            self._client.logout()  # the session is over either way


def inbox_from_url(url: str, *, ssl_context: ssl.SSLContext | None = None) -> Inbox:
    """The inbox ``TAKEDOWN_INBOX_URL`` names: ``maildir:///path/to/Maildir`` or
    ``imaps://user:password@host[:993]/FOLDER``. Raises :class:`InboxUnusable`."""
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        path = unquote(parts.path)
        if parts.netloc or not path:
            raise InboxUnusable("a Maildir URL is maildir:///absolute/path")
        return MaildirInbox(Path(path))
    if parts.scheme == "imaps":
        if not parts.hostname or parts.username is None or parts.password is None:
            raise InboxUnusable("an IMAP URL is imaps://user:password@host[:port]/FOLDER")
        folder = unquote(parts.path.lstrip("/")) or DEFAULT_FOLDER
        try:
            port = parts.port or 993
        except ValueError:
            raise InboxUnusable("the IMAP port is not a number") from None
        return ImapInbox(
            parts.hostname,
            port,
            unquote(parts.username),
            unquote(parts.password),
            folder,
            ssl_context=ssl_context,
        )
    raise InboxUnusable(f"inbox scheme {parts.scheme!r} is not supported; use maildir or imaps")
