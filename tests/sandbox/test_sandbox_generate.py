"""The generator: deterministic worlds of a requested size that pass the world's own checks."""

from __future__ import annotations

import pytest

from sandbox.world.check import check_world
from sandbox.world.generate import (
    GeneratorLimitError,
    generate_world,
    generate_world_dict,
    parse_generate_spec,
)


def test_same_arguments_give_the_same_world() -> None:
    assert generate_world_dict(3, 12, 500) == generate_world_dict(3, 12, 500)
    assert generate_world_dict(3, 12, 500) != generate_world_dict(4, 12, 500)


def test_generated_world_has_the_requested_size_and_holds_together() -> None:
    world = generate_world(11, 25, 2000)
    providers = [n for n in world.networks if not n.is_cdn]
    assert len(providers) == 25
    assert len(world.urls) == 2000
    assert len({u.key for u in world.urls}) == 2000
    index = check_world(world)
    assert all(index.registered_domain(u.host) is not None for u in world.urls)
    assert {n.rir for n in providers} == {"rir-na", "rir-eu", "rir-lac"}


def test_spec_parsing() -> None:
    assert parse_generate_spec("7,50,100000") == (7, 50, 100000)
    with pytest.raises(GeneratorLimitError):
        parse_generate_spec("7,50")
    with pytest.raises(GeneratorLimitError):
        generate_world_dict(1, 0, 10)
