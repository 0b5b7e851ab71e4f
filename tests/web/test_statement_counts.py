"""A case's page, the cases API and its bundle cost a fixed number of statements, however many
notices, events, reports, checks and resolutions the case has (no query per item)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from notices.inbound import InboundClass
from registry.db import unit_of_work
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Evidence,
    InboundMail,
    Report,
    Resolution,
)
from registry.status import CaseStatus, CheckOutcome, EventKind
from tests.web.client import signed_in
from tests.web.conftest import LiveServer
from tests.web.seed import AGENCY, T0, World, _case, _refer
from web.config import WebConfig
from web.routes.api import CaseList


@pytest.fixture
def web_config(web_config: WebConfig) -> WebConfig:
    # Every request looks its token up: the same statements each time, whatever the clock.
    return dataclasses.replace(web_config, principal_cache_seconds=0.0)


def _grow(session: Session, case: Case, items: int, number: int) -> None:
    """Give ``case`` ``items`` more of everything a case page and a bundle show."""
    for n in range(items):
        _refer(session, case, AGENCY, number * 1000 + n)
        session.add(
            Report(
                source="ky",
                report_id=f"ky-{number}-{n}",
                case_id=case.id,
                url=case.url,
                confirmed_at=T0,
                category="A",
            )
        )
        session.add(
            CaseEvent(
                case_id=case.id,
                at=T0 + timedelta(hours=1, minutes=n),
                kind=EventKind.NOTE,
                actor="ana",
                reason=f"note {n}",
            )
        )
        session.add(
            Check(
                case_id=case.id,
                at=T0 + timedelta(hours=7, minutes=n),
                outcome=CheckOutcome.PRESENT,
                http_status=200,
            )
        )
        resolution = Resolution(case_id=case.id, resolved_at=T0, ok=True, result={"n": n})
        session.add(resolution)
        session.flush()
        raw = f"netname: NET-{n}\n"
        session.add(
            Evidence(
                resolution_id=resolution.id,
                kind="network-whois",
                server="whois.example",
                query="192.0.2.1",
                at=T0,
                sha256=hashlib.sha256(raw.encode()).hexdigest(),
                raw=raw,
            )
        )
        body = f"reply {number} {n}".encode()
        session.add(
            InboundMail(
                raw=body,
                raw_sha256=hashlib.sha256(body).hexdigest(),
                size=len(body),
                mailbox="test",
                sender="abuse@host.example",
                subject=f"Re: {case.reference}",
                kind=InboundClass.REPLY,
                reply_text="We are looking into it.",
                case_id=case.id,
            )
        )


@pytest.fixture
def small_and_large(engine: Engine, world: World) -> tuple[int, int]:
    with unit_of_work(engine) as session:
        small = _case(session, 11, "small.example", CaseStatus.NOTIFIED, "NL")
        large = _case(session, 12, "large.example", CaseStatus.NOTIFIED, "NL")
        _grow(session, small, 1, 11)
        _grow(session, large, 20, 12)
        return small.id, large.id


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> None:
        with self.lock:
            self.statements.append(str(args[2]))


@contextmanager
def counting(engine: Engine) -> Iterator[Counter]:
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def _count(engine: Engine, client: httpx.Client, path: str, headers: dict[str, str]) -> int:
    # Warmed: the first download renders the notices' PDFs and fills the bundle cache.
    for _ in range(2):
        assert client.get(path, headers=headers).status_code == 200
    with counting(engine) as counter:
        reply = client.get(path, headers=headers)
    assert reply.status_code == 200, reply.text
    return len(counter.statements)


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/api/cases/{id}", 12),
        # The token, the case, its records version (SQLite: a statement a table), the audit.
        ("/api/cases/{id}/bundle", 16),
        ("/api/cases?host={host}", 3),
        ("/api/cases", 3),
    ],
)
def test_the_api_costs_the_same_statements_for_a_case_of_one_item_or_twenty(
    live_server: LiveServer,
    engine: Engine,
    world: World,
    small_and_large: tuple[int, int],
    path: str,
    most: int,
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['ana']}"}
    counts = []
    with httpx.Client(base_url=live_server.url, timeout=30.0) as client:
        for case_id, host in zip(small_and_large, ("small.example", "large.example"), strict=True):
            counts.append(_count(engine, client, path.format(id=case_id, host=host), headers))
    assert counts[0] == counts[1], counts
    assert counts[0] <= most, counts


def test_a_bundle_built_afresh_costs_the_same_statements_for_one_item_or_twenty(
    live_server: LiveServer,
    engine: Engine,
    world: World,
    small_and_large: tuple[int, int],
    web_config: WebConfig,
    app: FastAPI,
) -> None:
    # The cache off: every download builds the bundle from the database.
    app.state.web.config = dataclasses.replace(web_config, bundle_cache_dir=None)
    headers = {"Authorization": f"Bearer {world.tokens['ana']}"}
    with httpx.Client(base_url=live_server.url, timeout=30.0) as client:
        counts = [
            _count(engine, client, f"/api/cases/{case_id}/bundle", headers)
            for case_id in small_and_large
        ]
    assert counts[0] == counts[1], counts
    assert counts[0] <= 20, counts


def test_the_case_page_costs_the_same_statements_for_one_item_or_twenty(
    live_server: LiveServer, engine: Engine, world: World, small_and_large: tuple[int, int]
) -> None:
    with signed_in(live_server.url, "ana") as ana:
        counts = [_count(engine, ana, f"/cases/{case_id}", {}) for case_id in small_and_large]
    assert counts[0] == counts[1], counts
    assert counts[0] <= 16, counts


def test_the_case_list_is_what_its_schema_gives(
    live_server: LiveServer, world: World, small_and_large: tuple[int, int]
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['ana']}"}
    with httpx.Client(base_url=live_server.url, timeout=30.0) as client:
        for params in ({}, {"limit": "2"}, {"host": "nowhere.example"}):
            body = client.get("/api/cases", params=params, headers=headers).content
            assert CaseList.model_validate_json(body).model_dump_json().encode() == body
