"""Pages in-process: who sees what, forms need CSRF, actions leave events and audit entries."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select

from registry.db import unit_of_work
from registry.models import AuditEntry, Case, CaseEvent, Contact
from registry.status import CaseStatus, EventKind
from tests.web.client import anonymous, csrf_of, signed_in
from tests.web.conftest import LiveServer, RecordingStarter, serving
from tests.web.seed import World
from web.config import WebConfig

LINK = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"", re.IGNORECASE)


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with unit_of_work(engine) as session:
        return [
            (e.actor, e.action, e.subject)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_pages_need_a_sign_in(live_server: LiveServer, world: World) -> None:
    with anonymous(live_server.url) as client:
        response = client.get(f"/cases/{world.ours}")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")


def test_the_api_needs_a_token(live_server: LiveServer, world: World) -> None:
    with anonymous(live_server.url) as client:
        response = client.get("/api/cases")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        for token in (
            "tdk_nonsense",
            "tdk_" + "x" * 5000,
            "ghp_" + "x" * 40,
            world.tokens["liz"][4:],
        ):
            bad = client.get("/api/cases", headers={"Authorization": f"Bearer {token}"})
            assert bad.status_code == 401, token[:20]
            assert bad.json() == {"detail": "the API token is not valid"}


def test_sign_in_is_audited_and_the_cookie_is_locked_down(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    with anonymous(live_server.url) as client:
        token = csrf_of(client)
        failed = client.post(
            "/sign-in", data={"name": "ana", "password": "wrong password!", "csrf_token": token}
        )
        assert failed.status_code == 401
        ok = client.post(
            "/sign-in",
            data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token},
        )
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
    actions = audit_actions(engine)
    assert ("ana", "sign_in_failed", "user:ana") in actions
    assert ("ana", "sign_in", "user:ana") in actions


def test_the_session_cookie_is_secure_unless_turned_off(engine: Engine, world: World) -> None:
    from settings import Settings
    from web.app import create_app

    app = create_app(Settings(cookie_secure=True), engine=engine)
    with serving(app) as live, anonymous(live.url) as client:
        response = client.get("/sign-in")
        assert "secure" in response.headers["set-cookie"].lower()


def test_sign_in_is_throttled_per_user(live_server: LiveServer, world: World) -> None:
    with anonymous(live_server.url) as client:
        token = csrf_of(client)
        codes = [
            client.post(
                "/sign-in", data={"name": "liz", "password": "nope nope nope", "csrf_token": token}
            ).status_code
            for _ in range(6)
        ]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        # Even the right password is refused while throttled.
        right = client.post(
            "/sign-in",
            data={"name": "liz", "password": "correct horse battery staple", "csrf_token": token},
        )
        assert right.status_code == 429


def test_forms_without_the_csrf_token_are_refused(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    with signed_in(live_server.url, "ana") as client:
        response = client.post(f"/cases/{world.ours}/withdraw", data={"reason": "mistake"})
        assert response.status_code == 403
        forged = client.post(
            f"/cases/{world.ours}/withdraw", data={"reason": "mistake", "csrf_token": "x" * 43}
        )
        assert forged.status_code == 403
        with anonymous(live_server.url) as stranger:
            no_csrf = stranger.post("/sign-in", data={"name": "ana", "password": "x"})
        assert no_csrf.status_code == 403
    with unit_of_work(engine) as session:
        assert session.get(Case, world.ours).status is CaseStatus.NOTIFIED  # type: ignore[union-attr]


def test_pages_carry_a_strict_csp_and_show_urls_defanged_never_as_links(
    live_server: LiveServer, world: World
) -> None:
    with signed_in(live_server.url, "ana") as client:
        for path in ("/cases", f"/cases/{world.ours}", "/dashboard"):
            page = client.get(path)
            assert page.status_code == 200
            csp = page.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp
            assert "<script" not in page.text
            for href in LINK.findall(page.text):
                assert href.startswith("/"), f"{path} links elsewhere: {href}"
            for host in world.hosts.values():
                assert f"http://{host}" not in page.text
        case_page = client.get(f"/cases/{world.ours}").text
        assert "hxxp://ours[.]example/gallery/1.html" in case_page


def test_withdraw_moves_the_case_and_is_audited(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    with signed_in(live_server.url, "ana") as client:
        token = csrf_of(client, f"/cases/{world.unreferred}")
        response = client.post(
            f"/cases/{world.unreferred}/withdraw",
            data={"reason": "duplicate of another hotline's report", "csrf_token": token},
        )
        assert response.status_code == 303
        again = client.post(
            f"/cases/{world.unreferred}/withdraw", data={"reason": "again", "csrf_token": token}
        )
        assert again.status_code == 400 and "cannot become" in again.text
    with unit_of_work(engine) as session:
        case = session.get(Case, world.unreferred)
        assert case is not None and case.status is CaseStatus.WITHDRAWN
        assert case.closed_at is not None
    assert ("ana", "state_change", world.reference(world.unreferred)) in audit_actions(engine)


def test_override_puts_the_contact_first_with_an_event(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    with signed_in(live_server.url, "ana") as client:
        token = csrf_of(client, f"/cases/{world.ours}")
        bad = client.post(
            f"/cases/{world.ours}/override",
            data={"role": "host", "email": "x\r\nBcc: a@b.c", "reason": "r", "csrf_token": token},
        )
        assert bad.status_code == 400
        response = client.post(
            f"/cases/{world.ours}/override",
            data={
                "role": "host",
                "email": "takedown@ours.example",
                "reason": "their desk asked us to use this address",
                "csrf_token": token,
            },
        )
        assert response.status_code == 303
    with unit_of_work(engine) as session:
        case = session.get(Case, world.ours)
        assert case is not None
        contacts = session.scalars(
            select(Contact)
            .where(Contact.organisation_id == case.host_organisation_id)
            .order_by(Contact.rank)
        ).all()
        assert contacts[0].email == "takedown@ours.example"
        assert contacts[0].source == "override"
        kinds = [
            e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        ]
        assert EventKind.OVERRIDE in kinds
    assert ("ana", "override", world.reference(world.ours)) in audit_actions(engine)


def test_pasted_urls_open_cases_show_rejections_and_start_the_pipeline(
    live_server: LiveServer, world: World, engine: Engine, starter: RecordingStarter
) -> None:
    with signed_in(live_server.url, "ana") as client:
        token = csrf_of(client, "/cases/new")
        response = client.post(
            "/cases/new",
            data={
                "urls": "http://new.example/a\n\njavascript:alert(1)\nhttp://new.example/b",
                "category": "B",
                "csrf_token": token,
            },
        )
        assert response.status_code == 200
        assert "line 3" in response.text.lower() or ">3<" in response.text
        assert "javascript" in response.text
    with unit_of_work(engine) as session:
        opened = session.scalars(select(Case).where(Case.host == "new.example")).all()
        assert len(opened) == 2
        assert starter.calls == [sorted(c.id for c in opened)]
    assert any(a[1] == "cases_opened" for a in audit_actions(engine))


def test_roles_reach_only_their_pages(live_server: LiveServer, world: World) -> None:
    expectations = {
        "ana": {"/dashboard": 200, "/admin/users": 403, "/audit": 403, "/cases": 200},
        "liz": {"/dashboard": 403, "/admin/users": 403, "/audit": 403, "/cases": 200},
        "adam": {"/dashboard": 200, "/admin/users": 200, "/audit": 403, "/cases": 403},
        "aude": {"/dashboard": 403, "/admin/users": 403, "/audit": 200, "/cases": 403},
    }
    for name, paths in expectations.items():
        with signed_in(live_server.url, name) as client:
            got = {path: client.get(path).status_code for path in paths}
        assert got == paths, name


def test_control_characters_in_filters_are_refused_not_sent_to_the_database(
    live_server: LiveServer, world: World
) -> None:
    # A NUL in a filter once reached PostgreSQL, which cannot take it: a 500.
    token = world.tokens["ana"]
    with anonymous(live_server.url) as client:
        for query in ("host=%00", "host=a%0Ab"):
            response = client.get(
                f"/api/cases?{query}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 422, query
    with signed_in(live_server.url, "ana") as client:
        for query in ("host=%00", "country=%00"):
            assert client.get(f"/cases?{query}").status_code == 422, query


def test_an_uploaded_file_is_streamed_in_and_one_over_the_limit_refused(
    live_server: LiveServer, world: World, engine: Engine, web_config: WebConfig
) -> None:
    header = "report_id,url,confirmed_at,category\n"
    rows = "".join(f"up{i},http://upload.example/{i},2026-11-20T10:00:00Z,A\n" for i in range(3))
    with signed_in(live_server.url, "ana") as client:
        token = csrf_of(client, "/cases/new")
        response = client.post(
            "/cases/new",
            data={"csrf_token": token},
            files={"file": ("reports.csv", (header + rows).encode(), "text/csv")},
        )
        assert response.status_code == 200
        big = header + "x" * web_config.max_upload_bytes
        token = csrf_of(client, "/cases/new")
        response = client.post(
            "/cases/new",
            data={"csrf_token": token},
            files={"file": ("big.csv", big.encode(), "text/csv")},
        )
        assert response.status_code == 400 and "larger than" in response.text
    with unit_of_work(engine) as session:
        opened = session.scalars(select(Case).where(Case.host == "upload.example")).all()
        assert len(opened) == 3
