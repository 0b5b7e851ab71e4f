"""Starting the takedown pipeline for cases opened in the web app.

The app calls :func:`start_takedown` once per intake with the ids of the cases it touched; the
work runs in a background thread so the analyst's page returns at once. The pipeline is the
main job after intake (``flows.run.pipeline_flow``: trace, notify, deliver); it takes
every case due, the new ones included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

TakedownStarter = Callable[[Sequence[int]], None]
"""What the app calls after an intake: receives the case ids, must return quickly."""


def start_takedown(case_ids: Sequence[int]) -> None:
    """Run the pipeline for ``case_ids`` in a background thread (a no-op for no ids)."""
    ids = sorted(set(case_ids))
    if not ids:
        return
    from flows.run import pipeline_flow  # imported late: Prefect is heavy to import

    thread = threading.Thread(
        target=_run, args=(pipeline_flow, ids), name="takedown-pipeline", daemon=True
    )
    thread.start()


def _run(flow: Callable[..., object], ids: list[int]) -> None:
    try:
        flow()
    except Exception:  # a background job must not die silently: log it for the operator
        log.exception("the takedown pipeline failed for cases %s", ids[:20])
