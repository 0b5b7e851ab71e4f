"""Replies on the pages: the case's correspondence thread as text (URLs defanged, no remote
content, attachments named and never offered), the analyst's queue on the dashboard (and only
the analyst's), contacts shown as addresses, verified removals counted apart from open cases."""

from __future__ import annotations

from sqlalchemy import Engine, select

from registry.base import utcnow
from registry.db import unit_of_work
from registry.models import Case, CaseEvent, InboundMail
from registry.replies.service import take_in
from registry.status import EventKind
from tests.replies.conftest import sample
from tests.web.client import csrf_of, signed_in
from tests.web.conftest import LiveServer
from tests.web.seed import World
from tests.web.test_web_pages import LINK, audit_actions


def _receive(engine: Engine, world: World) -> None:
    reply = (
        sample(
            "reply_removed.eml",
            **{
                "In-Reply-To: <notice-17__TD-000042@hotline__example>\n": "",
                "References: <notice-17__TD-000042@hotline__example>\n": "",
                "TD-000042": world.reference(world.ours),
                "hxxp://files__quickhost[__]example/a/b__jpg": "http://ours.example/gallery/1.html",
            },
        )
        + b""
    )
    with unit_of_work(engine) as session:
        take_in(
            session,
            [reply, sample("reply_not_customer.eml"), sample("unmatched.eml")],
            mailbox="test",
            rerouting=None,
            now=utcnow(),
        )


def test_the_case_page_shows_the_thread_as_text(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    _receive(engine, world)
    with signed_in(live_server.url, "ana") as client:
        page = client.get(f"/cases/{world.ours}").text
    assert "<h2>Correspondence</h2>" in page
    assert "We have removed the content" in page
    assert "hxxp://ours[.]example/gallery/1[.]html" not in page  # only the host is defanged
    assert "hxxp://ours[.]example/gallery/1.html" in page
    assert "http://ours.example" not in page
    assert "screenshot.png (image/png" in page and "not shown" in page
    assert "<img" not in page
    for href in LINK.findall(page):
        assert href.startswith("/"), href
    assert "{&#39;email&#39;" not in page and "{'email'" not in page


def test_the_dashboard_queue_is_the_analysts(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    _receive(engine, world)
    with signed_in(live_server.url, "ana") as client:
        page = client.get("/dashboard").text
    assert "Replies waiting for an analyst" in page
    assert "no case matched" in page and world.reference(world.ours) in page
    assert "not our customer" in page
    assert "alert(1)" not in page and "<script" not in page
    assert "watched for reappearance" in page
    with signed_in(live_server.url, "liz") as client:
        response = client.get("/dashboard")
    assert "Replies waiting" not in response.text


def test_liaison_officers_see_the_thread_without_the_words(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    _receive(engine, world)
    with signed_in(live_server.url, "liz") as client:
        page = client.get(f"/cases/{world.ours}").text
    assert "<h2>Correspondence</h2>" in page and "reply" in page
    assert "We have removed the content" not in page


def _waiting(engine: Engine) -> list[InboundMail]:
    with unit_of_work(engine) as session:
        return list(
            session.scalars(
                select(InboundMail)
                .where(InboundMail.needs_analyst, InboundMail.handled_at.is_(None))
                .order_by(InboundMail.id)
            )
        )


def test_an_analyst_marks_a_flagged_case_handled_with_a_note(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    _receive(engine, world)
    with unit_of_work(engine) as session:
        case = session.get(Case, world.ours)
        assert case is not None and case.needs_analyst
    about_ours = [m.id for m in _waiting(engine) if m.case_id == world.ours]
    assert about_ours
    with signed_in(live_server.url, "liz") as client:
        token = csrf_of(client, f"/cases/{world.ours}")
        refused = client.post(
            f"/cases/{world.ours}/handled", data={"note": "x", "csrf_token": token}
        )
        assert refused.status_code == 403
    with signed_in(live_server.url, "ana") as client:
        page = client.get(f"/cases/{world.ours}").text
        assert "Mark handled" in page
        token = csrf_of(client, f"/cases/{world.ours}")
        unexplained = client.post(
            f"/cases/{world.ours}/handled", data={"note": "  ", "csrf_token": token}
        )
        assert unexplained.status_code == 400 and "say why" in unexplained.text
        done = client.post(
            f"/cases/{world.ours}/handled",
            data={"note": "host confirmed removal by phone", "csrf_token": token},
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
        assert "Done: handled." in page and "Mark handled" not in page
        assert "host confirmed removal by phone" in page  # on the timeline
        again = client.post(
            f"/cases/{world.ours}/handled", data={"note": "again", "csrf_token": token}
        )
        assert again.status_code == 409 and "does not need an analyst" in again.text
    with unit_of_work(engine) as session:
        case = session.get(Case, world.ours)
        assert case is not None and not case.needs_analyst and case.analyst_reason is None
        for message_id in about_ours:
            mail = session.get(InboundMail, message_id)
            assert mail is not None and mail.handled_by == "ana" and mail.handled_at is not None
        event = session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == world.ours, CaseEvent.kind == EventKind.NOTE)
            .order_by(CaseEvent.id.desc())
        ).first()
        assert event is not None and event.actor == "ana"
        assert event.detail is not None and event.detail["messages"] == about_ours
    assert ("ana", "handled", world.reference(world.ours)) in audit_actions(engine)
    assert all(m.case_id != world.ours for m in _waiting(engine))


def test_an_analyst_takes_an_unmatched_message_out_of_the_queue(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    _receive(engine, world)
    unmatched = [m for m in _waiting(engine) if m.case_id is None]
    assert unmatched  # the unmatched message, and the "not our customer" one
    message_id = unmatched[0].id
    with signed_in(live_server.url, "ana") as client:
        page = client.get("/dashboard").text
        assert f'action="/messages/{message_id}/handled"' in page
        token = csrf_of(client, "/dashboard")
        done = client.post(
            f"/messages/{message_id}/handled",
            data={"note": "spam, nothing to do", "csrf_token": token},
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
        assert "Done: handled." in page
        assert f'action="/messages/{message_id}/handled"' not in page
        again = client.post(
            f"/messages/{message_id}/handled", data={"note": "again", "csrf_token": token}
        )
        assert again.status_code == 409
        missing = client.post("/messages/999999/handled", data={"note": "x", "csrf_token": token})
        assert missing.status_code == 404
    assert ("ana", "handled", f"message {message_id}") in audit_actions(engine)
    assert all(m.id != message_id for m in _waiting(engine))
