"""Validation of one confirmed report: plain reasons for whatever is wrong with it."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from registry.intake.reader import RawRow, RowProblem
from urls import InvalidURL, NormalisedURL, normalise_url

MAX_REPORT_ID = 128
MAX_ANALYST = 128
MAX_NOTES = 4000
CLOCK_SKEW = timedelta(minutes=10)
"""A confirmation this far in the future is accepted (clocks differ); beyond it, refused."""

_REPORT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RowRejected(ValueError):
    """The row cannot be accepted; the message is the plain reason shown to the analyst."""


@dataclass(slots=True)
class ValidReport:
    """A report that passed validation, normalised. Not frozen: a frozen dataclass sets each
    field through ``object.__setattr__``, which made building 100,000 of them cost twice as
    much; nothing changes one once built."""

    line: int
    source: str
    report_id: str
    url: NormalisedURL
    confirmed_at: datetime
    category: str
    analyst: str | None
    content_sha256: str | None
    notes: str | None


def validate_report(
    line: int,
    fields: dict[str, Any],
    *,
    categories: Collection[str],
    default_source: str,
    now: datetime,
    seen_urls: dict[str, NormalisedURL | str] | None = None,
) -> ValidReport:
    """Check one report's fields and return them normalised, or raise :class:`RowRejected`.

    ``seen_urls`` remembers each raw URL's normalisation (or the reason it has none), so a URL
    reported many times is normalised once.
    """
    plain = _is_plain(fields)
    report_id = _text(fields, "report_id", plain, required=True, limit=MAX_REPORT_ID)
    assert report_id is not None
    if not _REPORT_ID.match(report_id):
        raise RowRejected("report_id may only hold printable characters without spaces")
    raw_url = _text(fields, "url", plain, required=True, limit=None)
    assert raw_url is not None
    known = None if seen_urls is None else seen_urls.get(raw_url)
    if known is None:
        try:
            known = normalise_url(raw_url)
        except InvalidURL as exc:
            known = f"url: {exc}"
        if seen_urls is not None:
            seen_urls[raw_url] = known
    if isinstance(known, str):
        raise RowRejected(known)
    url = known
    source = (_text(fields, "source", plain, required=False, limit=32) or default_source).lower()
    if not _SOURCE.match(source):
        raise RowRejected(f"source '{source[:32]}' is not a portal code such as 'bz' or 'ky'")
    return ValidReport(
        line=line,
        source=source,
        report_id=report_id,
        url=url,
        confirmed_at=_confirmed_at(fields, plain, now),
        category=_category(fields, plain, categories),
        analyst=_text(fields, "analyst", plain, required=False, limit=MAX_ANALYST),
        content_sha256=_sha256(fields, plain),
        notes=_notes(fields, plain),
    )


def _is_plain(fields: dict[str, Any]) -> bool:
    """Whether every field is text with no control character or line break (as nearly always).

    One look at the whole row spares a search per field: what no field holds, none of them
    holds once stripped. ``isprintable`` is false for every control character and line break
    (and for a few more, such as a no-break space: those rows take the per-field search).
    """
    try:
        return "".join(fields.values()).isprintable()
    except TypeError:  # a JSON value that is not text
        return False


def _text(
    fields: dict[str, Any], name: str, plain: bool, *, required: bool, limit: int | None
) -> str | None:
    """The field's text, stripped; None if it is absent or blank. ``plain``: the row holds only
    text, without control characters or line breaks (so this field needs no search for them)."""
    value = fields.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            if required:
                raise RowRejected(f"{name} is missing")
            return None
    elif value is None:
        if required:
            raise RowRejected(f"{name} is missing")
        return None
    else:
        raise RowRejected(f"{name} must be text, not {type(value).__name__}")
    if limit is not None and len(value) > limit:
        raise RowRejected(f"{name} is {len(value)} characters long; the limit is {limit}")
    if not plain and (
        _CONTROL.search(value) or (name != "notes" and ("\n" in value or "\r" in value))
    ):
        raise RowRejected(f"{name} contains control characters")
    return value


def _confirmed_at(fields: dict[str, Any], plain: bool, now: datetime) -> datetime:
    text = _text(fields, "confirmed_at", plain, required=True, limit=64)
    assert text is not None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RowRejected(
            f"confirmed_at '{text[:40]}' is not an ISO 8601 date-time "
            "(for example 2026-11-23T09:30:00Z)"
        ) from None
    if value.tzinfo is None:
        raise RowRejected("confirmed_at has no time zone; add one, e.g. 'Z' or '+00:00'")
    value = value.astimezone(UTC)
    if value > now + CLOCK_SKEW:
        raise RowRejected("confirmed_at is in the future")
    return value


def _category(fields: dict[str, Any], plain: bool, categories: Collection[str]) -> str:
    text = _text(fields, "category", plain, required=True, limit=32)
    assert text is not None
    if text in categories:
        return text
    by_fold = {c.casefold(): c for c in categories}
    if text.casefold() not in by_fold:
        allowed = ", ".join(categories)
        raise RowRejected(f"category '{text[:32]}' is not one of: {allowed}")
    return by_fold[text.casefold()]


def _sha256(fields: dict[str, Any], plain: bool) -> str | None:
    text = _text(fields, "content_sha256", plain, required=False, limit=64)
    if text is None:
        return None
    text = text.lower()
    if not _SHA256.match(text):
        raise RowRejected("content_sha256 must be 64 hexadecimal digits (a SHA-256 digest)")
    return text


def _notes(fields: dict[str, Any], plain: bool) -> str | None:
    text = _text(fields, "notes", plain, required=False, limit=MAX_NOTES)
    # Reporters stay anonymous: an address pasted into the notes is not kept.
    return None if text is None else _EMAIL.sub("[e-mail address removed]", text)


def validate_rows(
    rows: Sequence[RawRow],
    *,
    categories: Collection[str],
    default_source: str,
    now: datetime,
) -> list[ValidReport | RowProblem]:
    """Validate ``rows`` in order; each row gives a report or the problem with it."""
    results: list[ValidReport | RowProblem] = []
    seen_urls: dict[str, NormalisedURL | str] = {}
    for row in rows:
        try:
            results.append(
                validate_report(
                    row.line,
                    row.fields,
                    categories=categories,
                    default_source=default_source,
                    now=now,
                    seen_urls=seen_urls,
                )
            )
        except RowRejected as exc:
            value = row.fields.get("report_id")
            report_id = value.strip()[:128] if isinstance(value, str) else ""
            results.append(RowProblem(row.line, str(exc), report_id))
    return results
