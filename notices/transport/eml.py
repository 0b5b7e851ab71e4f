"""Delivery into a folder of ``.eml`` files (``TAKEDOWN_OUTBOX_DIR``): the no-set-up default.

Each message is written to ``<Message-ID>.eml`` through a temporary file in the same folder,
flushed to disk and renamed into place, so a reader never sees half a message and writing the
same notice again replaces the file with identical bytes instead of adding a second one.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from notices.transport.outcome import DeliveryOutcome, DeliveryResult, OutgoingMail, server_reason

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._@-]")
MAX_NAME = 200


def eml_filename(message_id: str) -> str:
    """The file name for a Message-ID: brackets dropped, anything unusual replaced by ``_``."""
    core = message_id.strip().removeprefix("<").removesuffix(">")
    name = _UNSAFE_IN_NAME.sub("_", core)[:MAX_NAME].lstrip(".")
    if not name:
        raise ValueError("Message-ID gives no usable file name")
    return f"{name}.eml"


class EmlOutboxTransport:
    """A :class:`notices.transport.outcome.MailTransport` that writes ``.eml`` files to a folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> EmlOutboxTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[DeliveryResult]:
        """Write each mail atomically; a file-system error is a temporary failure for that mail."""
        results = []
        for mail in mails:
            try:
                path = self.write(mail)
            except (OSError, ValueError) as exc:
                results.append(
                    DeliveryResult(
                        mail.message_id,
                        DeliveryOutcome.TEMPORARY_FAILURE,
                        None,
                        server_reason(f"cannot write to the outbox folder: {exc}"),
                    )
                )
                continue
            results.append(
                DeliveryResult(mail.message_id, DeliveryOutcome.SENT, None, f"written {path.name}")
            )
        return results

    def write(self, mail: OutgoingMail) -> Path:
        """Write one mail and return its path; replaces an earlier file of the same notice."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / eml_filename(mail.message_id)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-", suffix=".eml")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(mail.raw)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def close(self) -> None:
        """Nothing to release."""
