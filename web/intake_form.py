"""Opening cases from the web form: pasted URLs or an uploaded reports file.

Both go through :func:`registry.intake.service.ingest_file`, the same contract as
``takedown intake``. Pasted URLs become JSON Lines, one line per pasted line (blank lines kept
blank), so a rejection's line number is the line the analyst pasted it on.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.orm import Session

from registry.audit import AuditAction, record
from registry.intake.reader import MAX_FILE_BYTES
from registry.intake.service import IntakeResult, ingest_file
from registry.users import Principal


class TooManyUrls(ValueError):
    """More URLs were pasted than one form takes."""


def pasted_reports(
    text: str, *, category: str, source: str, analyst: str, now: datetime, limit: int
) -> bytes:
    """JSON Lines reports for pasted URLs, confirmed now by ``analyst``."""
    batch = secrets.token_hex(4)
    lines = []
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.strip()
        if not url:
            lines.append("")
            continue
        count += 1
        if count > limit:
            raise TooManyUrls(f"paste at most {limit} URLs at a time, or upload a file")
        lines.append(
            json.dumps(
                {
                    "report_id": f"web-{now:%Y%m%d%H%M%S}-{batch}-{number}",
                    "url": url,
                    "confirmed_at": now.isoformat(),
                    "category": category,
                    "source": source,
                    "analyst": analyst,
                }
            )
        )
    return "\n".join(lines).encode("utf-8")


def open_cases(
    session: Session,
    user: Principal,
    data: bytes | BinaryIO,
    filename: str,
    *,
    categories: tuple[str, ...],
    default_source: str,
    now: datetime,
    max_bytes: int = MAX_FILE_BYTES,
) -> IntakeResult:
    """Ingest ``data`` (bytes, or a binary file streamed a chunk at a time) as ``user`` and
    record it in the audit log; flushes only. A file over ``max_bytes`` raises
    :class:`registry.intake.reader.UnreadableFile` as soon as reading passes the limit."""
    result = ingest_file(
        session,
        data,
        filename,
        categories=categories,
        default_source=default_source,
        actor=user.name,
        now=now,
        max_bytes=max_bytes,
    )
    record(
        session,
        actor=user.name,
        action=AuditAction.CASES_OPENED,
        subject=f"intake:{filename or 'pasted'}"[:255],
        detail={
            **result.to_json(),
            "rejected": len(result.rejected),
            "case_ids": sorted(set(result.case_ids))[:100],
        },
        now=now,
    )
    return result
