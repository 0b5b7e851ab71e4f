"""The recheck flow under Prefect: batches as tasks, a summary artifact, every check recorded."""

from __future__ import annotations

import httpx
import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import Engine

from flows.recheck import recheck_flow
from registry.db import unit_of_work
from registry.status import CaseStatus
from tests.tracking.cases import case_row, check_count, open_case
from tests.tracking.conftest import ITEM_SHA256
from tests.tracking.loopback import DnsServer, Route, WebServer, Zone


def test_the_flow_rechecks_every_due_case_and_publishes_a_summary(
    prefect_harness: None,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    web: WebServer,
    resolver: DnsServer,
    zone: Zone,
) -> None:
    zone.a["files.example.bz"] = ["127.0.0.1"]
    monkeypatch.setenv("TAKEDOWN_DNS_NAMESERVERS", resolver.nameservers)
    monkeypatch.setenv("TAKEDOWN_PROBE_ALLOWED_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("TAKEDOWN_REMOVAL_CONFIRMATIONS", "1")
    web.routes["/gone"] = Route(404, b"")
    web.routes["/swapped"] = Route(200, b"not the item")
    with unit_of_work(engine) as session:
        ids = [
            open_case(session, web.url(f"/item?n={i}", "files.example.bz"), sha256=ITEM_SHA256)
            for i in range(5)
        ]
        for i in range(5):
            web.routes[f"/item?n={i}"] = web.routes["/item"]
        gone = open_case(session, web.url("/gone", "files.example.bz"), sha256=ITEM_SHA256)
        swapped = open_case(session, web.url("/swapped", "files.example.bz"), sha256=ITEM_SHA256)
    summary = recheck_flow(batch_size=2, parallel=2, database_url=database_url)
    assert summary["checked"] == 7 and summary["removal_verified"] == 1
    assert summary["needs_analyst"] == 1
    assert check_count(engine) == 7 and len(web.requests) == 7
    assert case_row(engine, gone).status is CaseStatus.REMOVED
    assert case_row(engine, swapped).needs_analyst
    assert all(case_row(engine, i).last_check_at is not None for i in ids)
    markdown = latest_artifact("recheck-summary")
    assert "| 7 | 1 | 0 | 0 | 1 | 0 |" in markdown


def latest_artifact(key: str) -> str:
    """The data of the newest artifact with ``key``, read from the test server's REST API (the
    whole filter body is sent: this server refuses the nulls its own client fills in)."""
    body = {
        "artifacts": {"key": {"any_": [key]}},
        "limit": 1,
        "offset": 0,
        "sort": "CREATED_DESC",
    }
    response = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", json=body, timeout=10)
    response.raise_for_status()
    [artifact] = response.json()
    assert artifact["flow_run_id"] is not None
    data: str = artifact["data"]
    return data
