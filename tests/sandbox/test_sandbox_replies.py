"""The world answers back: a dead mailbox's bounce in real MTAs' formats, a ticket system's
acknowledgement, people's replies — delivered to a Maildir when due, on a clock the test moves,
and read by the engine as what they are."""

from __future__ import annotations

import dataclasses
import mailbox
from pathlib import Path

import pytest
import yaml

from notices.inbound import InboundClass, classify, read_message
from sandbox.behaviour import NoticeBehaviour
from sandbox.mailstore import Mailstore
from sandbox.replies import ReplyDesk
from sandbox.state import WorldState
from sandbox.testing import ManualClock
from sandbox.world.check import check_world
from sandbox.world.load import world_from_dict
from sandbox.world.model import ReplyBehaviour, World, WorldError
from tests.sandbox.conftest import EXAMPLE_WORLD

KEY = "files.example-host.bz/a/1001.bin"
HOST = "abuse@hostingbz.example"
NOTICE = (
    "From: Example Hotline <notices@hotline.example>\r\n"
    "Reply-To: cases@hotline.example\r\n"
    f"To: {HOST}\r\n"
    "Subject: [TD-000007] Removal request: child sexual abuse material on your network\r\n"
    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "Message-ID: <notice-abc123.TD-000007@hotline.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "To the abuse team of Hosting Belice,\r\n\r\n"
    "1. http://files.example-host.bz:8080/a/1001.bin\r\n"
    "   Case reference: TD-000007\r\n"
).encode()


def _world(example_world: World, *replies: ReplyBehaviour) -> World:
    networks = tuple(
        dataclasses.replace(n, replies=replies) if n.id == "hostingbz" else n
        for n in example_world.networks
    )
    return dataclasses.replace(example_world, networks=networks)


def _deliver(world: World, clock: ManualClock, maildir: Path) -> tuple[Mailstore, ReplyDesk]:
    index = check_world(world)
    state = WorldState(index, clock)
    desk = ReplyDesk(index, clock, maildir)
    store = Mailstore(state, NoticeBehaviour(state), replies=desk)
    store.deliver("notices@hotline.example", [HOST], NOTICE)
    return store, desk


def _inbox(maildir: Path) -> list[bytes]:
    box = mailbox.Maildir(maildir, create=False)
    return [box.get_bytes(key) for key in sorted(box.keys())]


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_a_dead_mailbox_bounces_later_and_nobody_acts(
    example_world: World, clock: ManualClock, tmp_path: Path, mta: str
) -> None:
    world = _world(example_world, ReplyBehaviour("bounce", delay=3.0, mta=mta))  # type: ignore[arg-type]
    store, desk = _deliver(world, clock, tmp_path / "inbox")
    assert desk.pump() == 0 and not (tmp_path / "inbox").exists()
    clock.advance(3.1)
    assert desk.pump() == 1
    (raw,) = _inbox(tmp_path / "inbox")
    found = classify(read_message(raw))
    assert found.kind is InboundClass.BOUNCE_PERMANENT
    assert found.failed_addresses == (HOST,)
    assert "<notice-abc123.TD-000007@hotline.example>" in found.keys.message_ids
    clock.advance(60)
    assert store.state.condition(store.state.index.urls[KEY]) == "served"


def test_an_acknowledgement_carries_a_ticket_and_the_host_still_acts(
    example_world: World, clock: ManualClock, tmp_path: Path
) -> None:
    world = _world(example_world, ReplyBehaviour("auto_ack", delay=1.0, ticket_prefix="HB-"))
    store, desk = _deliver(world, clock, tmp_path / "inbox")
    clock.advance(6)
    desk.pump()
    (raw,) = _inbox(tmp_path / "inbox")
    found = classify(read_message(raw))
    assert found.kind is InboundClass.AUTO_ACK
    assert found.ticket == "HB-645010001"
    assert found.keys.message_ids == ("<notice-abc123.TD-000007@hotline.example>",)
    assert store.state.condition(store.state.index.urls[KEY]) == "removed"


@pytest.mark.parametrize(("kind", "removed"), [("removed", True), ("not_our_customer", False)])
def test_people_reply_quoting_the_notice(
    example_world: World, clock: ManualClock, tmp_path: Path, kind: str, removed: bool
) -> None:
    world = _world(example_world, ReplyBehaviour(kind, delay=7.0))  # type: ignore[arg-type]
    _, desk = _deliver(world, clock, tmp_path / "inbox")
    clock.advance(7.5)
    desk.pump()
    (raw,) = _inbox(tmp_path / "inbox")
    found = classify(read_message(raw))
    assert found.kind is InboundClass.REPLY and found.claims_removed is removed
    assert "Case reference" not in found.reply_text
    assert found.keys.case_ids == (7,)


def test_replies_in_the_world_file_are_read() -> None:
    raw = yaml.safe_load(EXAMPLE_WORLD.read_text(encoding="utf-8"))
    raw["providers"][0]["replies"] = [{"kind": "bounce", "delay": 4, "mta": "exim"}]
    world = world_from_dict(raw)
    assert world.networks[0].replies == (ReplyBehaviour("bounce", 4.0, "exim"),)
    raw["providers"][0]["replies"] = [{"kind": "shout"}]
    with pytest.raises(WorldError, match="kind"):
        world_from_dict(raw)
