"""Evidence: every query and answer that led to a contact, so a liaison officer can see why a
notice went where it went.

The raw answer is registry data, hence hostile: it is kept size-capped, as bytes, and only ever
shown as text after decoding with replacement characters. Its SHA-256 covers every byte received,
so a capped copy can still be matched against the server's full answer.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from settings.clock import utcnow

DEFAULT_EVIDENCE_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class Evidence:
    """One query to one server and what came back."""

    kind: str
    """``dns``, ``rdap`` or ``whois``."""
    server: str
    query: str
    at: datetime
    sha256: str
    """Hex digest of every byte received."""
    size: int
    """Bytes received (before the evidence cap)."""
    raw: bytes
    """The answer, cut to the evidence cap."""
    truncated: bool
    """True when the answer was longer than the transport cap or the evidence cap."""

    @classmethod
    def capture(
        cls,
        kind: str,
        server: str,
        query: str,
        raw: bytes,
        *,
        at: datetime | None = None,
        cap: int = DEFAULT_EVIDENCE_CAP,
        cut_in_transit: bool = False,
    ) -> Evidence:
        """Record ``raw`` as received from ``server`` for ``query``."""
        return cls(
            kind=kind,
            server=server,
            query=query,
            at=at or utcnow(),
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            raw=raw[:cap],
            truncated=cut_in_transit or len(raw) > cap,
        )

    @property
    def text(self) -> str:
        """The kept answer as text, undecodable bytes replaced; for bundles, never for headers."""
        return self.raw.decode("utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        """The public summary printed by ``takedown resolve --json``."""
        return {
            "kind": self.kind,
            "server": self.server,
            "query": self.query,
            "at": self.at.isoformat(),
            "sha256": self.sha256,
        }

    def to_record(self) -> dict[str, Any]:
        """Everything, raw answer included (base64), for caches and evidence bundles."""
        return {
            **self.to_json(),
            "size": self.size,
            "truncated": self.truncated,
            "raw_b64": base64.b64encode(self.raw).decode("ascii"),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Evidence:
        """Rebuild what :meth:`to_record` wrote."""
        return cls(
            kind=str(data["kind"]),
            server=str(data["server"]),
            query=str(data["query"]),
            at=datetime.fromisoformat(str(data["at"])),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            raw=base64.b64decode(str(data["raw_b64"])),
            truncated=bool(data["truncated"]),
        )
