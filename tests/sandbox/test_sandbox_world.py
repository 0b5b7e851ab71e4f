"""The world file: the shipped example has what the issue asks for; broken worlds are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sandbox.testing import EXAMPLE_WORLD
from sandbox.world.load import world_from_dict
from sandbox.world.model import World, WorldError
from sandbox.world.synthetic import MARKER, synthetic_bytes, synthetic_sha256


@pytest.fixture
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE_WORLD.read_text(encoding="utf-8"))
    return loaded


def test_example_world_has_the_countries_and_oddities_the_demo_needs(example_world: World) -> None:
    providers = {n.id: n for n in example_world.networks if not n.is_cdn}
    countries = {n.country for n in providers.values()}
    assert {"BZ", "KY", "GB", "NL", "US"} <= countries
    belize_languages = {n.language for n in providers.values() if n.country == "BZ"}
    assert belize_languages == {"es", "en"}
    assert any(n.is_cdn for n in example_world.networks)
    assert any(d.origin for d in example_world.domains), "a domain fronted by the CDN"
    assert any(n.behaviour.action == "ignore" for n in providers.values())
    registries = {r.tld: r for r in example_world.registries}
    assert registries["ky"].rdap is False
    assert any(r.whois == "thin" for r in registries.values())
    thin = {r.tld for r in registries.values() if r.whois == "thin"}
    assert any(d.tld in thin for d in example_world.domains)
    assert {d.tld for d in example_world.domains} >= {"bz", "ky"}


def test_every_stated_digest_is_the_digest_of_the_bytes_served(example_world: World) -> None:
    for url in example_world.urls:
        body = synthetic_bytes(example_world.seed, url.key, url.size)
        assert body.startswith(MARKER)
        assert len(body) == url.size
        assert synthetic_sha256(example_world.seed, url.key, url.size) == url.sha256


def test_a_wrong_digest_is_refused(raw: dict[str, Any]) -> None:
    raw["urls"][0]["sha256"] = "0" * 64
    with pytest.raises(WorldError, match="sha256"):
        world_from_dict(raw)


def test_unknown_keys_are_an_error(raw: dict[str, Any]) -> None:
    raw["providers"][0]["colour"] = "blue"
    with pytest.raises(WorldError, match="colour"):
        world_from_dict(raw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w["domains"][0].update(registrar="nobody"), "unknown registrar"),
        (lambda w: w["providers"][1].update(ranges=["127.16.128.0/17"]), "overlap"),
        (lambda w: w["providers"][0].update(ranges=["10.0.0.0/8"]), "127.0.0.0/8"),
        (lambda w: w["providers"][0].update(ranges=["127.0.5.0/24"]), "outside 127.0.0.0/16"),
        (lambda w: w["domains"][0]["records"]["files"].update(a=["127.99.0.1"]), "no provider"),
        (lambda w: w["domains"][0].update(name="example-host.zz"), "no registry"),
        (
            lambda w: w["urls"].append({"url": "http://nowhere.example-host.bz:8080/x"}),
            "no address",
        ),
        (
            lambda w: w["urls"].append({"url": "http://files.example-host.bz:9999/x"}),
            "content port",
        ),
        (lambda w: w["providers"][2]["behaviour"].update(move_to="shieldcdn"), "move_to"),
        (lambda w: w.update(version=2), "version"),
    ],
)
def test_inconsistent_worlds_are_refused(raw: dict[str, Any], change: Any, message: str) -> None:
    broken = copy.deepcopy(raw)
    change(broken)
    with pytest.raises(WorldError, match=message):
        world_from_dict(broken)
