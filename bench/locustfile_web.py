"""Locust users for ``bench/bench_web.py --locust``: the same mix as the bench's own clients.

Read from the environment (the bench sets them): ``BENCH_WEB_TOKENS`` (JSON: role to bearer
token), ``BENCH_WEB_CASES`` (comma-separated case ids with records) and ``BENCH_WEB_MIX``:
``cases`` (half bundle downloads, half case lists, 30% of them as a liaison officer) or
``ceiling`` (``/api/me`` only: the same server and authentication, no database work).

Each user sends its next request as soon as the last is answered (no think time), over
Locust's lighter HTTP client (geventhttpclient), which leaves more of the machine's two cores
to the server it measures.
"""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, task

_TOKENS: dict[str, str] = json.loads(os.environ.get("BENCH_WEB_TOKENS", "{}"))
_CASES = [int(x) for x in os.environ.get("BENCH_WEB_CASES", "").split(",") if x]
_MIX = os.environ.get("BENCH_WEB_MIX", "cases")
_FILTERS: list[dict[str, str]] = [
    {},
    {"status": "notified"},
    {"country": "NL"},
    {"age": "older-7d"},
]


class Reader(FastHttpUser):
    """An analyst's or liaison officer's tool, listing cases and downloading bundles."""

    def wait_time(self) -> float:
        return 0.0

    def _headers(self) -> dict[str, str]:
        role = "liaison" if random.random() < 0.3 else "analyst"
        return {"Authorization": f"Bearer {_TOKENS[role]}"}

    @task
    def request(self) -> None:
        if _MIX == "ceiling":
            self.client.get("/api/me", headers=self._headers(), name="me")
        elif random.random() < 0.5:
            case_id = random.choice(_CASES)
            self.client.get(f"/api/cases/{case_id}/bundle", headers=self._headers(), name="bundle")
        else:
            params = dict(random.choice(_FILTERS))
            if random.random() < 0.2:
                params = {"before": str(random.randrange(2, 100_000))}
            self.client.get("/api/cases", params=params, headers=self._headers(), name="list")
