"""Checkpoints of the audit chain: its head, signed with the Ed25519 signing key, kept outside
the database.

The chain and its MACs find an entry edited, deleted or re-hashed in the middle of the log;
they cannot find the newest entries deleted, nor a log rewritten by someone who also holds the
audit key. A checkpoint can: it records how many entries the log held, up to which entry, with
which hash and MAC, signed so that nobody without the signing key can forge one. Each is one
JSON line appended to ``TAKEDOWN_AUDIT_CHECKPOINT_FILE`` (by ``takedown audit verify`` and the
daily digest flow); :func:`check_log` compares the database with every line of the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from records.signing import key_id
from registry.audit import AuditKey, ChainReport, configured_audit_key, verify_chain
from registry.audit.chain import utc_iso

FORMAT = "takedown-audit-checkpoint"
VERSION = 1
MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the chain at one moment, and the signature over the rest of the fields."""

    at: str
    entries: int
    last_id: int
    last_hash: str
    last_mac: str | None
    keyed_from: int | None
    audit_key_id: str | None
    key_id: str
    signature: str = ""

    def body(self) -> bytes:
        """The exact bytes signed: the canonical JSON of every field but the signature."""
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        fields |= {"format": FORMAT, "version": VERSION}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        fields = {"format": FORMAT, "version": VERSION, **asdict(self)}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n"


def make_checkpoint(
    report: ChainReport, key: Ed25519PrivateKey, audit_key: AuditKey | None, *, now: datetime
) -> Checkpoint:
    """The signed checkpoint of a verified chain's head (which must hold an entry)."""
    if report.last_id is None:
        raise ValueError("an empty audit log has no head to checkpoint")
    unsigned = Checkpoint(
        at=utc_iso(now),
        entries=report.entries,
        last_id=report.last_id,
        last_hash=report.last_hash,
        last_mac=report.last_mac,
        keyed_from=report.keyed_from,
        audit_key_id=audit_key.id if audit_key else None,
        key_id=key_id(key),
    )
    signature = base64.b64encode(key.sign(unsigned.body())).decode("ascii")
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Append one line to the checkpoint file and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, checkpoint.line().encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_checkpoints(path: Path) -> tuple[list[tuple[int, Checkpoint]], list[str]]:
    """Every checkpoint in the file with its line number, and the lines that are not one."""
    found: list[tuple[int, Checkpoint]] = []
    problems: list[str] = []
    if not path.exists():
        return found, problems
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE:
                    raise ValueError("too long")
                data = json.loads(raw)
                if data.pop("format") != FORMAT or data.pop("version") != VERSION:
                    raise ValueError("not a checkpoint")
                found.append((number, Checkpoint(**data)))
            except (ValueError, TypeError, KeyError, AttributeError):
                problems.append(f"checkpoint line {number}: unreadable (the file was altered)")
    return found, problems


@dataclass(slots=True)
class LogCheck:
    """The audit chain checked, and checked against the checkpoints kept outside the database."""

    report: ChainReport
    problems: list[str] = field(default_factory=list)
    """Chain breaks and checkpoint mismatches, one line each."""
    notes: list[str] = field(default_factory=list)
    checkpoints: int = 0
    """Checkpoints compared with the database."""
    written: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_log(
    session: Session,
    checkpoint_file: Path | None,
    signing_key: Ed25519PrivateKey | None,
    *,
    now: datetime,
    write: bool = True,
) -> LogCheck:
    """Verify the chain and compare it with every checkpoint; when all is well and ``write``,
    append a checkpoint of the current head."""
    audit_key = configured_audit_key()
    checkpoints: list[tuple[int, Checkpoint]] = []
    file_problems: list[str] = []
    if checkpoint_file is not None and signing_key is not None:
        checkpoints, file_problems = read_checkpoints(checkpoint_file)
    report = verify_chain(
        session, key=audit_key, anchor_ids={point.last_id for _, point in checkpoints}
    )
    result = LogCheck(report, [str(b) for b in report.breaks] + file_problems, report.notes)
    if checkpoint_file is None or signing_key is None:
        missing = "TAKEDOWN_AUDIT_CHECKPOINT_FILE" if signing_key else "TAKEDOWN_SIGNING_KEY"
        result.notes.append(
            f"no checkpoints ({missing} is not set): deleting the newest entries, or rewriting "
            "the log with the audit key, cannot be detected"
        )
        return result
    public = signing_key.public_key()
    for number, point in checkpoints:
        problem = _compare(number, point, public, key_id(signing_key), report)
        if problem is None:
            result.checkpoints += 1
        elif problem.startswith("note: "):
            result.notes.append(problem.removeprefix("note: "))
        else:
            result.problems.append(problem)
    if write and result.ok and report.last_id is not None:
        result.written = make_checkpoint(report, signing_key, audit_key, now=now)
        append_checkpoint(checkpoint_file, result.written)
    return result


def _compare(
    number: int, point: Checkpoint, public: Ed25519PublicKey, our_key: str, report: ChainReport
) -> str | None:
    """What is wrong between one checkpoint and the log, or None."""
    if point.key_id != our_key:
        return f"note: checkpoint line {number} is signed by key {point.key_id}: not checked"
    try:
        public.verify(base64.b64decode(point.signature, validate=True), point.body())
    except (InvalidSignature, binascii.Error, ValueError):
        return f"checkpoint line {number}: its signature does not match (the file was altered)"
    seen = f"the checkpoint of {point.at} (line {number})"
    now = report.anchors.get(point.last_id)
    if now is None:
        return (
            f"truncated: entry {point.last_id}, the newest of {point.entries} entries at "
            f"{seen}, is no longer in the log (entries were deleted)"
        )
    if now.entry_hash != point.last_hash or now.entry_mac != point.last_mac:
        return f"rewritten: entry {point.last_id} is not what {seen} recorded"
    if now.position != point.entries:
        return (
            f"entries deleted or inserted: {seen} counted {point.entries} entries up to entry "
            f"{point.last_id}, the log now has {now.position}"
        )
    return None


def checkpoint_summary(check: LogCheck) -> dict[str, Any]:
    """The outcome as plain data, for ``--json`` and flow results."""
    report = check.report
    return {
        "ok": check.ok,
        "entries": report.entries,
        "last_hash": report.last_hash,
        "unkeyed": report.unkeyed,
        "checkpoints_checked": check.checkpoints,
        "checkpoint_written": check.written is not None,
        "problems": check.problems,
        "notes": check.notes,
    }
