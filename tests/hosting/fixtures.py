"""Where the real-world registry captures live (beside the repository) and how to read them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER = REPO.parent / "shared" / "fixtures" / "peer"

needs_peer = pytest.mark.skipif(
    not PEER.is_dir(), reason="real-world registry fixtures (../shared/fixtures/peer) are absent"
)


def expectations(kind_prefix: str) -> list[dict[str, str]]:
    if not PEER.is_dir():
        return []
    with (PEER / "expectations.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if r["kind"].startswith(kind_prefix)]


def load_json(relative: str) -> Any:
    with (PEER / relative).open("rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def read_text(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read().decode("utf-8", errors="replace")
