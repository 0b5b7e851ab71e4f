"""Storing validated reports on PostgreSQL: COPY into a staging table, then set-based SQL.

Each chunk of reports is streamed with ``COPY`` into a temporary table; four statements then
drop the reports already stored, open one case per URL that has no open case, and store the
reports with their case events. The database does the matching and grouping over its own
indexes, so the rows never come back to Python except as the case id each report went to.

Concurrent intakes stay safe: cases and reports are inserted with ``ON CONFLICT DO NOTHING``
(a racing insert of the same URL or report waits for the other transaction, then skips), and
each report is matched to its case by a statement that starts after the cases were opened, so
it sees a case another intake opened meanwhile and attaches to it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import Session

from registry.base import UTCDateTime, ascii_key
from registry.bulk.writes import copy_columns, dbapi_cursor
from registry.intake.result import IntakeResult
from registry.intake.validate import ValidReport
from registry.status import CaseStatus, EventKind

_names = count()

WORK_MEM = "64MB"
"""Sort and hash memory for the intake's statements (a chunk's rows sort in it)."""
SESSION_SETTINGS = (("work_mem", WORK_MEM), ("jit", "off"))
"""Set for the intake's transaction and put back by :meth:`StagedIntake.close`. The planner's
row estimates for the staging joins are large enough to trigger JIT compilation, which cost
more than the statements it sped up (13 ms of 386 for a chunk's cases)."""

STAGED = Table(
    "intake_staging",
    MetaData(),
    Column("line", Integer),
    # Collated as the keys they are matched with (byte order), so their indexes serve the joins.
    Column("source", ascii_key(32)),
    Column("report_id", ascii_key(128)),
    Column("url_sha256", ascii_key(64)),
    Column("url", Text),
    Column("display_url", Text),
    Column("host", String(255)),
    Column("registrable_domain", String(255)),
    Column("confirmed_at", UTCDateTime()),
    Column("category", String(32)),
    Column("analyst", String(128)),
    Column("content_sha256", String(64)),
    Column("notes", Text),
    Column("had_userinfo", Boolean),
)
"""The staging table's columns (the types say how COPY encodes each)."""


class StagedIntake:
    """One intake's writer on PostgreSQL: call :meth:`store` for each chunk of reports.

    The staging tables are temporary and dropped at commit; :meth:`close` drops them sooner.
    """

    def __init__(
        self,
        session: Session,
        *,
        actor: str,
        flow_run_id: str | None,
        now: datetime,
    ) -> None:
        self._session = session
        self._params = {"actor": actor, "flow_run_id": flow_run_id, "now": now}
        suffix = next(_names)
        self._rows = f"intake_rows_{suffix}"
        self._opened = f"intake_opened_{suffix}"
        self._created = False
        self._chunks = 0
        self._saved: list[tuple[str, str]] = []
        self._case_ids = ""

    def store(self, reports: list[ValidReport], result: IntakeResult) -> None:
        """Store ``reports`` (in file order); add their outcome to ``result``."""
        reports = _first_of_each_report(reports, result)
        if not reports:
            return
        cursor = dbapi_cursor(self._session)
        if not self._created:
            self._create(cursor)
        else:
            cursor.execute(f"TRUNCATE {self._rows}, {self._opened}")
        copy_columns(self._session, self._rows, STAGED, _columns(reports))
        # Temporary tables have no statistics until analysed: without them the planner guessed
        # a few thousand rows and read whole tables to join them.
        cursor.execute(f"ANALYZE {self._rows} (source, report_id, url_sha256)")
        cursor.execute(_DROP_KNOWN.format(rows=self._rows))
        result.duplicates += cursor.rowcount
        staged = len(reports) - cursor.rowcount
        cursor.execute(
            _OPEN_CASES.format(rows=self._rows, opened=self._opened),
            {**self._params, "status": CaseStatus.NEW.value, "case_ids": self._case_ids},
        )
        statement = _STORE_REPORTS if self._chunks else _STORE_FIRST_REPORTS
        self._chunks += 1
        cursor.execute(
            statement.format(rows=self._rows, opened=self._opened),
            {
                **self._params,
                "status": CaseStatus.NEW.value,
                "opened": EventKind.OPENED.value,
                "attached": EventKind.REPORT_ATTACHED.value,
            },
        )
        stored = cursor.fetchall()
        # Reports another intake stored after our check are duplicates too.
        result.duplicates += staged - len(stored)
        opened = sum(1 for _, opens in stored if opens)
        result.cases_opened += opened
        result.reports_attached += len(stored) - opened
        result.case_ids.extend(case_id for case_id, _ in stored)

    def close(self) -> None:
        """Drop the staging tables now rather than at commit, and put the settings back."""
        if self._created:
            cursor = dbapi_cursor(self._session)
            cursor.execute(f"DROP TABLE {self._rows}, {self._opened}")
            for name, value in self._saved:
                cursor.execute("SELECT set_config(%s, %s, true)", (name, value))
            self._saved.clear()
            self._created = False

    def _create(self, cursor: Any) -> None:
        # The grouping and ordering of a chunk fit in memory with WORK_MEM; the default (4 MB)
        # sent them to disk. Local to the transaction, and put back by close().
        for name, value in SESSION_SETTINGS:
            cursor.execute(
                "SELECT current_setting(%s), set_config(%s, %s, true)", (name, name, value)
            )
            self._saved.append((name, cursor.fetchone()[0]))
        cursor.execute("SELECT pg_get_serial_sequence('cases', 'id')")
        self._case_ids = cursor.fetchone()[0]
        columns = ", ".join(
            f"{column.name} {column.type.compile(dialect=self._session.get_bind().dialect)}"
            for column in STAGED.columns
        )
        cursor.execute(f"CREATE TEMP TABLE {self._rows} ({columns}) ON COMMIT DROP")
        cursor.execute(
            f"CREATE TEMP TABLE {self._opened} (case_id integer PRIMARY KEY) ON COMMIT DROP"
        )
        self._created = True


def _first_of_each_report(reports: list[ValidReport], result: IntakeResult) -> list[ValidReport]:
    """The reports whose (source, report_id) is new to the chunk; the others are duplicates."""
    seen: set[tuple[str, str]] = set()
    unique: list[ValidReport] = []
    for report in reports:
        key = (report.source, report.report_id)
        if key in seen:
            result.duplicates += 1
        else:
            seen.add(key)
            unique.append(report)
    return unique


def _columns(reports: list[ValidReport]) -> dict[str, list[Any]]:
    urls = [r.url for r in reports]
    sha256 = hashlib.sha256
    return {
        "line": [r.line for r in reports],
        "source": [r.source for r in reports],
        "report_id": [r.report_id for r in reports],
        "url_sha256": [sha256(u.url.encode()).hexdigest() for u in urls],
        "url": [u.url for u in urls],
        "display_url": [u.display_url for u in urls],
        "host": [u.host for u in urls],
        "registrable_domain": [u.registrable_domain for u in urls],
        "confirmed_at": [r.confirmed_at for r in reports],
        "category": [r.category for r in reports],
        "analyst": [r.analyst for r in reports],
        "content_sha256": [r.content_sha256 for r in reports],
        "notes": [r.notes for r in reports],
        "had_userinfo": [u.had_userinfo for u in urls],
    }


# Reports already stored (by an earlier file, an earlier chunk, or another intake) are no-ops.
_DROP_KNOWN = """
DELETE FROM {rows} s USING reports r
WHERE r.source = s.source AND r.report_id = s.report_id
"""

# Cases and reports are inserted in key order, not file order: two intakes of the same URLs
# or report ids in different orders would otherwise each wait on a key the other holds, and
# PostgreSQL would end one of them as a deadlock. (Key order also fills the unique indexes
# from left to right.) Case numbers still follow the file: they are drawn in file order first.
#
# One case per URL without an open case, holding its first report's facts, the earliest
# confirmation and the first digest given. A URL whose case another intake opens meanwhile is
# skipped here (ON CONFLICT waits for that intake, then does nothing) and attached to below.
_OPEN_CASES = """
WITH grouped AS (
    SELECT url_sha256, min(line) AS line, min(confirmed_at) AS confirmed_at,
           (array_agg(content_sha256 ORDER BY line)
                FILTER (WHERE content_sha256 IS NOT NULL))[1] AS content_sha256
    FROM {rows} GROUP BY url_sha256
), numbered AS (
    -- Numbered in file order: PostgreSQL evaluates a volatile output expression (nextval)
    -- after the sort, row by row in that order (the SELECT reference says so).
    SELECT nextval(%(case_ids)s::regclass) AS id, g.url_sha256, g.line, g.confirmed_at,
           g.content_sha256
    FROM grouped g
    WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.url_sha256 = g.url_sha256 AND c.is_open)
    ORDER BY g.line
), opened AS (
    INSERT INTO cases (id, url, url_sha256, display_url, host, registrable_domain, status,
                       is_open, escalation_level, needs_analyst, category, content_sha256,
                       trace_attempts, notice_round, consecutive_removed,
                       confirmed_at, opened_at, updated_at)
    SELECT n.id, f.url, f.url_sha256, f.display_url, f.host, f.registrable_domain, %(status)s,
           true, 0, false, f.category, n.content_sha256, 0, 0, 0,
           n.confirmed_at, %(now)s, %(now)s
    FROM numbered n JOIN {rows} f ON f.line = n.line
    ORDER BY n.url_sha256
    ON CONFLICT (url_sha256) WHERE is_open DO NOTHING
    RETURNING id
)
INSERT INTO {opened} SELECT id FROM opened
"""

# Every report goes to its URL's open case (opened above, earlier, or by another intake); the
# first stored report of a case opened above gets the "opened" event, the others "attached".
# A case this intake opened from an earlier chunk takes an earlier confirmation or a first
# digest from this one, as it would have had the whole file been one chunk.
_STORE_REPORTS = """
WITH stored AS (
    INSERT INTO reports (source, report_id, case_id, url, confirmed_at, category, analyst,
                         content_sha256, notes, had_userinfo, received_at)
    SELECT s.source, s.report_id, c.id, s.url, s.confirmed_at, s.category, s.analyst,
           s.content_sha256, s.notes, s.had_userinfo, %(now)s
    FROM {rows} s LEFT JOIN cases c ON c.url_sha256 = s.url_sha256 AND c.is_open
    ORDER BY s.source, s.report_id
    ON CONFLICT (source, report_id) DO NOTHING
    RETURNING source, report_id, case_id
), outcome AS (
    SELECT s.line, s.source, s.report_id, s.confirmed_at, s.content_sha256, t.case_id,
           (o.case_id IS NOT NULL
            AND row_number() OVER (PARTITION BY t.case_id ORDER BY s.line) = 1) AS opens
    FROM stored t
    JOIN {rows} s ON s.source = t.source AND s.report_id = t.report_id
    LEFT JOIN {opened} o ON o.case_id = t.case_id
), events AS (
    INSERT INTO case_events (case_id, at, kind, from_status, to_status, actor, reason,
                             flow_run_id, detail)
    SELECT case_id, %(now)s, CASE WHEN opens THEN %(opened)s ELSE %(attached)s END, NULL,
           CASE WHEN opens THEN %(status)s END, %(actor)s,
           'report ' || source || '/' || report_id, %(flow_run_id)s, NULL
    FROM outcome ORDER BY line
), earlier AS (
    UPDATE cases c
    SET confirmed_at = least(c.confirmed_at, g.confirmed_at),
        content_sha256 = coalesce(c.content_sha256, g.content_sha256)
    FROM (
        SELECT case_id, min(confirmed_at) AS confirmed_at,
               (array_agg(content_sha256 ORDER BY line)
                    FILTER (WHERE content_sha256 IS NOT NULL))[1] AS content_sha256
        FROM outcome GROUP BY case_id
    ) g
    -- "IS TRUE" keeps the planner from reading every case this intake opened by the opened_at
    -- index (its statistics cannot know how many there are): the few attached cases lead.
    WHERE c.id = g.case_id AND (c.opened_at = %(now)s) IS TRUE
      AND NOT EXISTS (SELECT 1 FROM {opened} o WHERE o.case_id = c.id)
      AND (c.confirmed_at > g.confirmed_at
           OR (c.content_sha256 IS NULL AND g.content_sha256 IS NOT NULL))
)
SELECT case_id, opens FROM outcome ORDER BY line
"""

# The first chunk has no cases opened by earlier chunks to complete.
_STORE_FIRST_REPORTS = _STORE_REPORTS.replace(
    _STORE_REPORTS[_STORE_REPORTS.index("), earlier AS (") : _STORE_REPORTS.index(")\nSELECT")],
    "",
)
