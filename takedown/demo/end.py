"""Whether the demo's cases ended where the world's behaviours take them, and which did not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from registry.models import Case, case_reference
from urls.normalise import defang, normalise_url

if TYPE_CHECKING:  # the sandbox loads only when the demo runs
    from sandbox.outcomes import Expected
    from sandbox.testing import SandboxHandle


@dataclass(frozen=True, slots=True)
class Difference:
    """A case that ended otherwise than its world says it should."""

    case: str
    """Its reference (``TD-000012``), or ``-`` when the URL has no case at all."""
    url: str
    """Defanged."""
    expected: str
    actual: str

    def to_json(self) -> dict[str, str]:
        """Plain values for ``takedown demo --json``."""
        return {
            "case": self.case,
            "url": self.url,
            "expected": self.expected,
            "actual": self.actual,
        }


def expected_ends(handle: SandboxHandle) -> dict[str, Expected]:
    """Where the world takes each of its URLs, by the URL's normalised form as served."""
    from sandbox.outcomes import expected_outcomes

    by_key = handle.call(lambda sandbox: expected_outcomes(sandbox.state))
    port = handle.ports.content
    return {
        normalise_url(url.url(port)).url: by_key[url.key]
        for url in handle.world.urls
        if url.key in by_key
    }


def end_differences(engine: Engine, expected: Mapping[str, Expected]) -> list[Difference]:
    """Every URL whose case ended otherwise than expected (or that has no case), in URL order
    of the world file; an empty list is the documented end state."""
    from sandbox.outcomes import describe_end

    with engine.connect() as connection:
        rows = connection.execute(
            select(
                Case.id,
                Case.url,
                Case.display_url,
                Case.status,
                Case.escalation_level,
                Case.notice_round,
                Case.needs_analyst,
            ).order_by(Case.id)
        ).all()
    # The latest case of a URL is the one that counts (an earlier one may have been closed).
    cases: dict[str, Any] = {row.url: row for row in rows}
    found = []
    for url, want in expected.items():
        case = cases.get(url)
        if case is None:
            found.append(Difference("-", defang(url), want.describe(), "no case"))
            continue
        actual = describe_end(
            str(case.status),
            case.escalation_level > 0,
            case.notice_round > 0,
            case.needs_analyst,
        )
        if actual != want.describe():
            found.append(
                Difference(case_reference(case.id), case.display_url, want.describe(), actual)
            )
    return found
