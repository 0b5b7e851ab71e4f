"""Starting the takedown pipeline for cases opened in the web app.

The app calls :func:`start_takedown` once per intake with the ids of the cases it touched; the
work runs in a background thread so the analyst's page returns at once. For now the pipeline is
the trace flow; it claims every case due for tracing, the new ones included.
"""

from __future__ import annotations

import importlib
import inspect
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
    try:
        module = importlib.import_module("flows.trace")
    except ImportError:
        log.info(
            "the trace flow is not installed; %d case(s) wait for the next trace run", len(ids)
        )
        return
    flow = getattr(module, "trace_flow", None) or getattr(module, "trace", None)
    if not callable(flow):
        log.info("flows.trace has no trace flow; %d case(s) wait for the next run", len(ids))
        return
    thread = threading.Thread(target=_run, args=(flow, ids), name="takedown-pipeline", daemon=True)
    thread.start()


def _run(flow: Callable[..., object], ids: list[int]) -> None:
    # A flow that can be limited to these cases is; otherwise it takes every case due.
    parameters = inspect.signature(getattr(flow, "fn", flow)).parameters
    try:
        if "case_ids" in parameters:
            flow(case_ids=ids)
        else:
            flow()
    except Exception:  # a background job must not die silently: log it for the operator
        log.exception("the takedown pipeline failed for cases %s", ids[:20])
