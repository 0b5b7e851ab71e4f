"""Replies on the pages: the case's correspondence thread as text (URLs defanged, no remote
content, attachments named and never offered), the analyst's queue on the dashboard (and only
the analyst's), contacts shown as addresses, verified removals counted apart from open cases."""

from __future__ import annotations

from sqlalchemy import Engine

from registry.base import utcnow
from registry.db import unit_of_work
from registry.replies.service import take_in
from tests.replies.conftest import sample
from tests.web.client import signed_in
from tests.web.conftest import LiveServer
from tests.web.seed import World
from tests.web.test_web_pages import LINK


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
