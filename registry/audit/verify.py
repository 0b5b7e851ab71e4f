"""Checking the audit log: every entry's hash, its link to the one before, and its MAC.

What it finds, and what it cannot:

- an entry edited in place no longer matches its hash ("edited");
- an entry deleted, or entries reordered, break the links ("deleted", "reordered");
- an entry edited or deleted *and the chain re-hashed after it*, by someone who can write the
  database but does not hold the audit key, no longer matches its MAC ("rewritten");
- a MAC removed from an entry written after the key was set ("its MAC is missing");
- the newest entries deleted leave a shorter, consistent chain: only a checkpoint kept outside
  the database finds that (:mod:`records.checkpoints`), through :attr:`ChainReport.anchors`.

Entries written before the key existed carry no MAC; they are checked by their hashes alone and
the report says how many there are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.audit.chain import GENESIS_HASH, entry_hash
from registry.audit.key import AuditKey, configured_audit_key
from registry.models import AuditEntry

MAC_MISSING = (
    "its MAC is missing, though entries before it carry one (removed, or written by a process "
    "without TAKEDOWN_AUDIT_KEY)"
)
MAC_WRONG = (
    "rewritten: its MAC does not match (changed, or its chain re-hashed, by someone without the "
    "audit key)"
)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where and how the chain is broken: one entry, or a run of entries with one problem."""

    entry_id: int
    problem: str
    last_entry_id: int | None = None

    def __str__(self) -> str:
        if self.last_entry_id is not None and self.last_entry_id != self.entry_id:
            return f"entries {self.entry_id}-{self.last_entry_id}: {self.problem}"
        return f"entry {self.entry_id}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an entry a checkpoint names stands now: its position, hash and MAC."""

    position: int
    entry_hash: str
    entry_mac: str | None


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of :func:`verify_chain`."""

    entries: int
    last_hash: str
    breaks: tuple[ChainBreak, ...]
    last_id: int | None = None
    last_mac: str | None = None
    unkeyed: int = 0
    """Entries before the first one carrying a MAC: checked by their hashes only."""
    keyed_from: int | None = None
    """The id of the first entry carrying a MAC."""
    macs_checked: bool = False
    """False when entries carry MACs but no key was given to check them."""
    anchors: dict[int, Anchor] = field(default_factory=dict)
    """The entries asked for in ``anchor_ids`` that exist, by id."""

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def notes(self) -> list[str]:
        """What the check could not cover, in plain words (not failures)."""
        found = []
        if self.unkeyed and self.keyed_from is not None:
            found.append(
                f"{self.unkeyed} entries before entry {self.keyed_from} predate the audit key: "
                "checked by their hashes only"
            )
        elif self.unkeyed:
            found.append(
                f"no entry carries a MAC: {self.unkeyed} entries checked by their hashes only "
                "(set TAKEDOWN_AUDIT_KEY)"
            )
        if self.keyed_from is not None and not self.macs_checked:
            found.append("MACs not checked: TAKEDOWN_AUDIT_KEY is not set")
        return found


class _Breaks:
    """Collects breaks, folding a run of consecutive entries with the same problem into one
    (a chain re-hashed after an edit fails at every later entry)."""

    def __init__(self) -> None:
        self.items: list[ChainBreak] = []
        self._previous_id: int | None = None

    def add(self, entry_id: int, problem: str, previous_id: int | None) -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last.problem == problem and self._previous_id == previous_id:
            self.items[-1] = ChainBreak(last.entry_id, problem, entry_id)
        else:
            self.items.append(ChainBreak(entry_id, problem))
        self._previous_id = entry_id


def verify_chain(
    session: Session,
    *,
    key: AuditKey | Literal["configured"] | None = "configured",
    anchor_ids: Collection[int] = (),
    batch: int = 2000,
) -> ChainReport:
    """Re-hash every entry in order, check each chains onto the one before it and, with the
    audit key (by default the configured one), its MAC.

    A break names where the chain stops being consistent and what that most likely means.
    Deleting the newest entries leaves no trace in the chain itself: pass the ids that
    checkpoints name as ``anchor_ids`` and compare :attr:`ChainReport.anchors` with them.
    """
    audit_key = configured_audit_key() if key == "configured" else key
    hashes_to_ids = dict(
        session.execute(select(AuditEntry.entry_hash, AuditEntry.id)).tuples().all()
    )
    wanted = set(anchor_ids)
    anchors: dict[int, Anchor] = {}
    breaks = _Breaks()
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    last_mac: str | None = None
    count = unkeyed = 0
    keyed_from: int | None = None
    for entry in _entries(session, batch):
        count += 1
        recomputed = entry_hash(
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.entry_hash:
            breaks.add(entry.id, "edited: its fields no longer match its hash", previous_id)
        elif entry.entry_mac is None and keyed_from is not None:
            breaks.add(entry.id, MAC_MISSING, previous_id)
        elif entry.entry_mac and audit_key and not audit_key.check(recomputed, entry.entry_mac):
            breaks.add(entry.id, MAC_WRONG, previous_id)
        elif entry.prev_hash != expected_prev:
            breaks.add(entry.id, _link_problem(entry, previous_id, hashes_to_ids), previous_id)
        if entry.entry_mac is None and keyed_from is None:
            unkeyed += 1
        elif entry.entry_mac is not None and keyed_from is None:
            keyed_from = entry.id
        if entry.id in wanted:
            anchors[entry.id] = Anchor(count, entry.entry_hash, entry.entry_mac)
        expected_prev = entry.entry_hash
        previous_id = entry.id
        last_mac = entry.entry_mac
    return ChainReport(
        count,
        expected_prev,
        tuple(breaks.items),
        last_id=previous_id,
        last_mac=last_mac,
        unkeyed=unkeyed,
        keyed_from=keyed_from,
        macs_checked=audit_key is not None,
        anchors=anchors,
    )


def _link_problem(entry: _Row, previous_id: int | None, hashes: dict[str, int]) -> str:
    after = f"entry {previous_id}" if previous_id is not None else "the start of the log"
    if entry.prev_hash == GENESIS_HASH:
        return f"reordered: it is the first entry of the chain but is stored after {after}"
    if entry.prev_hash in hashes:
        return (
            f"reordered: it chains onto entry {hashes[entry.prev_hash]} but is stored after {after}"
        )
    return f"an entry before it was deleted (or rewritten): it no longer follows {after}"


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str
    entry_mac: str | None


def _entries(session: Session, batch: int) -> Iterator[_Row]:
    """Every entry in id order, read in batches as plain rows (nothing kept in the session)."""
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.subject,
        AuditEntry.detail,
        AuditEntry.prev_hash,
        AuditEntry.entry_hash,
        AuditEntry.entry_mac,
    )
    last_id = 0
    while True:
        rows = session.execute(
            select(*columns).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _Row(
                row.id,
                row.at,
                row.actor,
                row.action,
                row.subject,
                dict(row.detail or {}),
                row.prev_hash,
                row.entry_hash,
                row.entry_mac,
            )
        last_id = rows[-1].id
