"""The database resolution cache: answers survive the process, are shared, expire and are pruned
(both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from registry.db import unit_of_work
from registry.models import CacheEntry
from registry.tracing.cache import DatabaseCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_entries_written_by_one_worker_are_read_by_another(engine: Engine) -> None:
    clock = Clock()
    first = DatabaseCache(clock=clock)
    first.put("dns", "www.example.bz", {"addresses": ["192.0.2.7"]}, ttl=300)
    first.put("registrar-rdap", "example.bz", {"record": {"name": "R"}}, ttl=600)
    first.put("network-rdap", "192.0.2.0/24", {"record": {"name": "NET"}}, ttl=600)
    first.put("ip-rdap", "192.0.2.7", {"network": "192.0.2.0/24"}, ttl=600)
    first.put("ip-rdap", "198.51.100.1", {"record": {"error": "TIMEOUT"}}, ttl=60, negative=True)
    assert first.pending == 5
    with unit_of_work(engine) as session:
        assert first.flush(session) == 5
    assert first.pending == 0

    second = DatabaseCache(clock=clock)
    assert second.get("dns", "www.example.bz") is None  # nothing is read per lookup
    with unit_of_work(engine) as session:
        loaded = second.preload(session, hosts={"www.example.bz"}, domains={"example.bz"})
    # The DNS answer, the registrar, every network, and the pointer of the address DNS gave;
    # not the pointer of an address no host of this batch resolved to.
    assert loaded == 4
    entry = second.get("ip-rdap", "192.0.2.7")
    assert entry is not None and entry.value == {"network": "192.0.2.0/24"}
    assert second.get("ip-rdap", "198.51.100.1") is None
    dns = second.get("dns", "www.example.bz")
    assert dns is not None and dns.expires_at == clock.now + 300 and not dns.negative


def test_a_failure_is_cached_as_negative_and_an_upsert_replaces_it(engine: Engine) -> None:
    clock = Clock()
    cache = DatabaseCache(clock=clock)
    cache.put(
        "registrar-whois", "example.ky", {"record": {"error": "TIMEOUT"}}, ttl=60, negative=True
    )
    with unit_of_work(engine) as session:
        cache.flush(session)
    again = DatabaseCache(clock=clock)
    with unit_of_work(engine) as session:
        again.preload(session, hosts=(), domains={"example.ky"})
    entry = again.get("registrar-whois", "example.ky")
    assert entry is not None and entry.negative
    again.put("registrar-whois", "example.ky", {"record": {"name": "R"}}, ttl=600)
    with unit_of_work(engine) as session:
        again.flush(session)
        row = session.scalars(select(CacheEntry)).one()
        assert (row.value, row.negative) == ({"record": {"name": "R"}}, False)
        assert row.expires_at == datetime.fromtimestamp(clock.now + 600, UTC)


def test_expired_rows_are_ignored_and_pruned(engine: Engine) -> None:
    clock = Clock()
    cache = DatabaseCache(clock=clock)
    cache.put("dns", "old.example.bz", {"addresses": []}, ttl=10)
    cache.put("dns", "fresh.example.bz", {"addresses": []}, ttl=1000)
    with unit_of_work(engine) as session:
        cache.flush(session)
    clock.now += 100
    later = DatabaseCache(clock=clock)
    with unit_of_work(engine) as session:
        loaded = later.preload(session, hosts={"old.example.bz", "fresh.example.bz"}, domains=())
        assert loaded == 1 and later.get("dns", "old.example.bz") is None
        assert later.prune(session) == 1
        keys = session.scalars(select(CacheEntry.key)).all()
    assert keys == ["fresh.example.bz"]
