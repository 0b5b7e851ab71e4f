"""The resolution cache in the database: answers shared by every worker, surviving restarts.

:class:`hosting.common.cache.ResolutionCache` is synchronous and called from inside the event loop
of a trace, while the database is a network round trip away. So the database is never asked per
lookup: a memory cache answers every ``get``; :meth:`DatabaseCache.preload` fills it with the
rows a batch can use before the batch starts, and :meth:`DatabaseCache.flush` writes the entries
the batch added, in one bulk upsert, after it ends. Expired rows are never loaded, and
:meth:`DatabaseCache.prune` deletes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hosting.trace import CacheEntry as Entry
from hosting.trace import JsonObject, MemoryCache
from registry.base import table_of
from registry.models import CacheEntry

CHUNK = 1000
"""Keys per ``IN (...)``: well under every backend's parameter limit."""
NETWORK_KINDS = ("network-rdap", "network-whois")
"""Networks are keyed by prefix, which a batch cannot know before DNS answers: all are loaded
(there are few networks next to the URLs on them)."""
ADDRESS_KINDS = ("ip-rdap", "ip-whois")
REGISTRAR_KINDS = ("registrar-rdap", "registrar-whois")
MAX_KEY = 255


def _chunks(items: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class DatabaseCache:
    """A :class:`hosting.common.cache.ResolutionCache` backed by the ``resolution_cache`` table.

    Lookups never touch the database; load and store around each batch with :meth:`preload`
    and :meth:`flush` (both take the caller's session: the unit of work commits).
    """

    def __init__(
        self, *, max_entries: int = 200_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._memory = MemoryCache(max_entries, clock)
        self._clock = clock
        self._dirty: dict[tuple[str, str], Entry] = {}
        self.loaded = 0
        """Rows read from the database so far (for reports and benchmarks)."""

    def get(self, kind: str, key: str) -> Entry | None:
        """The live entry for ``(kind, key)`` held in memory, or None."""
        return self._memory.get(kind, key)

    def put(
        self, kind: str, key: str, value: JsonObject, *, ttl: float, negative: bool = False
    ) -> None:
        """Keep ``value`` in memory and remember to write it at the next :meth:`flush`."""
        self._memory.put(kind, key, value, ttl=ttl, negative=negative)
        if len(key) <= MAX_KEY:  # a longer key cannot be a row; it stays in memory only
            self._dirty[(kind, key)] = Entry(value, negative, self._clock() + ttl)

    @property
    def pending(self) -> int:
        """Entries added since the last :meth:`flush`."""
        return len(self._dirty)

    def preload(self, session: Session, *, hosts: Collection[str], domains: Collection[str]) -> int:
        """Load the live rows a batch of ``hosts`` under ``domains`` can use; return how many.

        Three queries: the hosts' DNS answers and the domains' registrars, every network, then
        the address pointers of the addresses those DNS answers gave.
        """
        now = datetime.fromtimestamp(self._clock(), UTC)
        live = CacheEntry.expires_at > now
        addresses: set[str] = set()
        count = 0
        for chunk in _chunks(set(hosts)):
            for row in session.scalars(
                select(CacheEntry).where(live, CacheEntry.kind == "dns", CacheEntry.key.in_(chunk))
            ):
                self._remember(row)
                addresses.update(str(a) for a in _as_list(row.value.get("addresses")))
                count += 1
        for chunk in _chunks(set(domains)):
            query = select(CacheEntry).where(
                live, CacheEntry.kind.in_(REGISTRAR_KINDS), CacheEntry.key.in_(chunk)
            )
            count += self._load(session, query)
        count += self._load(
            session, select(CacheEntry).where(live, CacheEntry.kind.in_(NETWORK_KINDS))
        )
        for chunk in _chunks(addresses):
            query = select(CacheEntry).where(
                live, CacheEntry.kind.in_(ADDRESS_KINDS), CacheEntry.key.in_(chunk)
            )
            count += self._load(session, query)
        self.loaded += count
        return count

    def _load(self, session: Session, query: Any) -> int:
        count = 0
        for row in session.scalars(query):
            self._remember(row)
            count += 1
        return count

    def _remember(self, row: CacheEntry) -> None:
        ttl = row.expires_at.timestamp() - self._clock()
        if ttl > 0 and (row.kind, row.key) not in self._dirty:
            self._memory.put(row.kind, row.key, dict(row.value), ttl=ttl, negative=row.negative)

    def flush(self, session: Session) -> int:
        """Upsert every entry added since the last flush (one bulk statement); return how many.

        A row another worker wrote meanwhile is replaced: both answers are equally fresh."""
        if not self._dirty:
            return 0
        rows = [
            {
                "kind": kind,
                "key": key,
                "value": entry.value,
                "negative": entry.negative,
                "expires_at": datetime.fromtimestamp(entry.expires_at, UTC),
            }
            for (kind, key), entry in self._dirty.items()
        ]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table_of(CacheEntry))
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                "value": statement.excluded.value,
                "negative": statement.excluded.negative,
                "expires_at": statement.excluded.expires_at,
            },
        )
        for start in range(0, len(rows), CHUNK):
            session.execute(statement, rows[start : start + CHUNK])
        self._dirty.clear()
        session.flush()
        return len(rows)

    def prune(self, session: Session) -> int:
        """Delete every expired row; return how many went."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        result = session.execute(delete(CacheEntry).where(CacheEntry.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def forget_dns(session: Session, hosts: Collection[str]) -> int:
    """Delete the cached DNS answers of ``hosts``; return how many went.

    A case whose hosting moved must be traced again from fresh answers, not from the cached
    ones that led to the host it left."""
    gone = 0
    for chunk in _chunks(set(hosts)):
        result = session.execute(
            delete(CacheEntry).where(CacheEntry.kind == "dns", CacheEntry.key.in_(chunk))
        )
        gone += int(getattr(result, "rowcount", 0) or 0)
    return gone
