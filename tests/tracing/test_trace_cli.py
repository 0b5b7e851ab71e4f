"""``takedown resolve`` and ``takedown trace`` against the sandbox, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from registry.db import make_engine, unit_of_work
from registry.models import Case, Contact, Evidence, Resolution
from registry.status import CaseStatus
from sandbox.testing import SandboxHandle
from takedown.cli import app
from tests.tracing.conftest import point_at
from tests.tracing.test_trace_db import CONTRACT_KEYS
from tests.tracing.world_expect import expected_for

pytestmark = pytest.mark.network
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_resolve_prints_the_contract_and_exits_by_whether_the_host_was_found(
    monkeypatch: pytest.MonkeyPatch, served: SandboxHandle, tmp_path: Path
) -> None:
    database = tmp_path / "never.db"
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", f"sqlite:///{database}")
    point_at(monkeypatch, served)
    for url in served.urls:
        want = expected_for(served.world, url)
        code, out, err = invoke("resolve", url, "--json")
        assert code == (0 if want.traced else 1), (url, err)
        printed = json.loads(out)
        assert set(printed) >= CONTRACT_KEYS
        assert set(printed["network"] or {}) >= (
            {"asn", "prefix", "name", "country", "abuse_contacts", "source"}
            if want.traced
            else set()
        )
        assert set(printed["registrar"]) >= {"name", "iana_id", "abuse_contacts", "source"}
        assert printed["registrar"]["name"] == want.registrar.name
        assert printed["hosting_country"] == want.hosting_country
        if want.behind_cdn:
            assert printed["cdn"]["name"] == want.network.name if want.network else False
            assert set(printed["cdn"]) >= {"name", "abuse_contacts"}
        else:
            assert printed["cdn"] is None
        for item in printed["evidence"]:
            assert set(item) >= {"kind", "server", "query", "at", "sha256"}
    assert not database.exists()  # resolve stores nothing


def test_resolve_speaks_to_people_with_defanged_urls(
    monkeypatch: pytest.MonkeyPatch, served: SandboxHandle
) -> None:
    point_at(monkeypatch, served)
    url = next(u for u in served.urls if expected_for(served.world, u).behind_cdn)
    code, out, _ = invoke("resolve", url)
    assert code == 0
    assert "http://" not in out and "hxxp://" in out and "[.]" in out
    want = expected_for(served.world, url)
    assert want.network is not None and want.network.name in out
    assert "real host is unknown" in out


def test_resolve_refuses_an_invalid_url_in_one_line(
    monkeypatch: pytest.MonkeyPatch, served: SandboxHandle
) -> None:
    point_at(monkeypatch, served)
    code, out, err = invoke("resolve", "javascript:alert(1)")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.usefixtures("prefect_harness")
def test_trace_runs_the_flow_over_every_waiting_case(
    monkeypatch: pytest.MonkeyPatch, served: SandboxHandle, database_url: str
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    point_at(monkeypatch, served)
    code, _, err = invoke("intake", served.env["TAKEDOWN_SANDBOX_REPORTS"], "--json")
    assert code == 0, err
    code, out, err = invoke("trace", "--limit", "4", "--json")
    assert code == 0, err
    assert json.loads(out)["claimed"] == 4
    code, out, err = invoke("trace", "--json")
    assert code == 0, err
    total = json.loads(out)
    wants = [expected_for(served.world, u) for u in served.urls]
    assert total["claimed"] == len(wants) - 4
    code, out, _ = invoke("trace")
    assert code == 0 and out.startswith("0 cases traced")

    engine = make_engine(database_url)
    try:
        with unit_of_work(engine) as session:
            cases = session.scalars(select(Case)).all()
            for case in cases:
                want = expected_for(served.world, case.url)
                status = CaseStatus.TRACED if want.traced else CaseStatus.TRACE_FAILED
                assert case.status is status
                assert case.hosting_country == want.hosting_country
                assert case.registrar_name == want.registrar.name
            assert len(session.scalars(select(Resolution)).all()) == len(cases)
            assert session.scalars(select(Evidence)).first() is not None
            assert session.scalars(select(Contact)).first() is not None
    finally:
        engine.dispose()
    failed = sum(1 for w in wants if not w.traced)
    countries = total["countries"]
    assert total["failed"] == failed and sum(countries.values()) == total["traced"]
