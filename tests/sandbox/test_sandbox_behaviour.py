"""What the world does after a notice, on a clock the test moves (no network involved)."""

from __future__ import annotations

import pytest

from sandbox.behaviour import NoticeBehaviour
from sandbox.state import WorldState
from sandbox.testing import ManualClock
from sandbox.world.check import check_world
from sandbox.world.index import WorldIndex
from sandbox.world.model import World

Setup = tuple[WorldState, NoticeBehaviour]


@pytest.fixture
def index(example_world: World) -> WorldIndex:
    return check_world(example_world)


@pytest.fixture
def world_state(index: WorldIndex, clock: ManualClock) -> Setup:
    state = WorldState(index, clock)
    return state, NoticeBehaviour(state)


def test_provider_removes_after_its_delay_with_its_status(
    world_state: Setup, clock: ManualClock
) -> None:
    state, behaviour = world_state
    key = "files.example-host.bz/a/1001.bin"
    behaviour.notice_received(["abuse@hostingbz.example"], [key], clock())
    clock.advance(4.9)
    assert state.condition(state.index.urls[key]) == "served"
    clock.advance(0.2)
    assert state.condition(state.index.urls[key]) == "removed"
    assert state.urls[key].removed_status == 410


def test_notice_to_the_wrong_provider_changes_nothing(
    world_state: Setup, clock: ManualClock
) -> None:
    state, behaviour = world_state
    key = "files.example-host.bz/a/1001.bin"
    behaviour.notice_received(["abuse@albionhosting.example"], [key], clock())
    clock.advance(60)
    assert state.condition(state.index.urls[key]) == "served"


def test_reupload_brings_the_content_back_once(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "static.belize-share.bz/s/2001.bin"
    url = state.index.urls[key]
    behaviour.notice_received(["abuse@belizenet.example"], [key], clock())
    clock.advance(6)
    assert state.condition(url) == "removed"
    clock.advance(20)
    assert state.condition(url) == "reuploaded"
    behaviour.notice_received(["abuse@belizenet.example"], [key], clock())
    clock.advance(60)
    assert state.condition(url) == "removed"


def test_move_repoints_dns_to_the_other_provider(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "dl.cayman-share.ky/f/4001.bin"
    url = state.index.urls[key]
    behaviour.notice_received(["abuse@caymancloud.example"], [key], clock())
    clock.advance(8)
    assert state.condition(url) == "moved"
    holder = state.holder(url)
    assert holder is not None and holder.id == "ushost"
    assert state.addresses(url.host) == ["127.21.0.1"]


def test_registrar_suspends_the_domain(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "quiet-harbor-share.com/q/8001.bin"
    behaviour.notice_received(["abuse@quietharbor.example"], [key], clock())
    behaviour.notice_received(["abuse@registrar-one.example"], [key], clock())
    clock.advance(14)
    assert state.name_status("quiet-harbor-share.com")[0] == "ok"
    clock.advance(2)
    assert state.name_status("quiet-harbor-share.com")[0] == "nxdomain"
    assert state.condition(state.index.urls[key]) == "suspended"
    assert state.addresses("quiet-harbor-share.com") == []


def test_registrar_that_ignores_leaves_the_domain(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "files.example-host.bz/a/1001.bin"
    behaviour.notice_received(["abuso@registros-caribe.example"], [key], clock())
    clock.advance(600)
    assert state.name_status("files.example-host.bz")[0] == "ok"


def test_cdn_forwards_to_the_origin_which_removes(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "www.shielded-site.com/c/9001.bin"
    url = state.index.urls[key]
    assert state.holder(url).id == "shieldcdn"  # type: ignore[union-attr]
    behaviour.notice_received(["abuse@shieldedge.example"], [key], clock())
    clock.advance(2 + 5.9)
    assert state.condition(url) == "served"
    clock.advance(0.2)
    assert state.condition(url) == "removed"
    assert [a.change.by for a in state.applied] == ["shieldcdn", "nlhost"]


def test_partner_hotline_passes_the_referral_to_the_host(
    world_state: Setup, clock: ManualClock
) -> None:
    state, behaviour = world_state
    key = "data.polder-opslag.nl/d/6001.bin"
    behaviour.notice_received(["referrals@nl-hotline.example"], [key], clock())
    clock.advance(5 + 6 + 0.1)
    assert state.condition(state.index.urls[key]) == "removed"


def test_reminders_while_a_removal_is_pending_do_not_restart_it(
    world_state: Setup, clock: ManualClock
) -> None:
    state, behaviour = world_state
    key = "img.albion-uploads.co.uk/u/5001.bin"
    behaviour.notice_received(["abuse@albionhosting.example"], [key], clock())
    clock.advance(2)
    behaviour.notice_received(["abuse@albionhosting.example"], [key], clock())
    clock.advance(1.1)
    assert state.condition(state.index.urls[key]) == "removed"
    assert len(state.applied) == 1


def test_silent_provider_never_acts(world_state: Setup, clock: ManualClock) -> None:
    state, behaviour = world_state
    key = "quiet-harbor-share.com/q/8001.bin"
    behaviour.notice_received(["abuse@quietharbor.example"], [key], clock())
    clock.advance(3600)
    assert state.condition(state.index.urls[key]) == "served"
    assert state.applied == []
