"""What an intake reports back: its counts, its rejected rows, the cases it touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    report_id: str
    error: str


@dataclass(slots=True)
class IntakeResult:
    received: int = 0
    cases_opened: int = 0
    reports_attached: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    case_ids: list[int] = field(default_factory=list)
    """Every case a report of this file went to (opened or attached), in file order."""

    def to_json(self) -> dict[str, Any]:
        """The shape ``takedown intake --json`` prints (an external contract)."""
        return {
            "received": self.received,
            "cases_opened": self.cases_opened,
            "reports_attached": self.reports_attached,
            "duplicates": self.duplicates,
            "rejected": [
                {"line": r.line, "report_id": r.report_id, "error": r.error} for r in self.rejected
            ],
        }
