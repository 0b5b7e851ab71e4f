"""``takedown users add`` and the dashboard's figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from registry.db import unit_of_work
from registry.models import AuditEntry, Case, User
from registry.reporting.dashboard import dashboard
from registry.users import authenticate, user_for_token
from takedown.cli import app
from tests.web.seed import T0, World

runner = CliRunner()


def test_users_add_hashes_the_password_and_prints_a_token_once(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "lia",
            "--role",
            "liaison",
            "--agency",
            "ky-police",
            "--password-stdin",
            "--token",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("tdk_")
    with unit_of_work(engine) as session:
        user = session.scalars(select(User).where(User.name == "lia")).one()
        assert user.agency == "ky-police"
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in user.password_hash
        assert authenticate(session, "lia", "a long enough password") is not None
        found = user_for_token(session, token)
        assert found is not None and found.name == "lia"
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["user_created", "token_issued"]
    again = runner.invoke(app, ["users", "add", "lia", "--role", "analyst", "--token"])
    assert again.exit_code == 2 and "already a user" in again.stderr
    no_agency = runner.invoke(app, ["users", "add", "lou", "--role", "liaison", "--token"])
    assert no_agency.exit_code == 2 and "--agency" in no_agency.stderr


def test_the_dashboard_counts_by_status_and_takes_the_median(engine: Engine, world: World) -> None:
    removal_hours = {world.ours: 10, world.theirs: 30}
    with unit_of_work(engine) as session:
        for case_id, hours in removal_hours.items():
            case = session.get(Case, case_id)
            assert case is not None
            case.first_notice_at = T0 + timedelta(hours=1)
            case.removal_verified_at = T0 + timedelta(hours=1 + hours)
        figures = dashboard(session)
    assert figures.total == 3 and figures.by_status["notified"] == 2
    assert figures.by_status["traced"] == 1 and figures.by_status["closed"] == 0
    assert figures.removed == 2
    assert figures.median_notice_to_removal_hours == pytest.approx(20.0)
    assert figures.median_confirmation_to_removal_hours == pytest.approx(21.0)


@pytest.mark.parametrize(
    ("command", "stdin", "action"),
    [
        (["users", "disable", "ana"], None, "user_disabled"),
        (["users", "password", "ana"], "a brand new passphrase\n", "password_changed"),
        (["users", "role", "ana", "--role", "auditor"], None, "role_changed"),
        (["users", "sign-out", "ana"], None, "sessions_ended"),
    ],
)
def test_user_changes_on_the_command_line_end_every_session(
    engine: Engine,
    database_url: str,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    stdin: str | None,
    action: str,
) -> None:
    from registry.web_sessions import SessionLimits, live_session, start_session

    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    with unit_of_work(engine) as session:
        ana = session.scalars(select(User).where(User.name == "ana")).one()
        cookie, _ = start_session(session, ana.id, now=T0)
    result = runner.invoke(app, command, input=stdin)
    assert result.exit_code == 0, result.stderr
    assert "1 session(s) ended" in result.stderr
    with unit_of_work(engine) as session:
        assert live_session(session, cookie, SessionLimits(), now=T0) is None
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last is not None and last.action == action and last.subject == "user:ana"
