"""CPU time of processes, read from Linux's ``/proc``: what a benchmark's parts each used."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """CPU time used so far by process ``pid`` (and by its ended children, if ``reaped``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11 : 15 if reaped else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and of all its children, live or ended (a database server's
    backends come and go with the connections)."""
    total = cpu_seconds(pid, reaped=True)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        # One that ended between the listing and the read is counted with its parent later.
        with contextlib.suppress(FileNotFoundError):
            total += cpu_seconds(int(child))
    return total


def postmaster_pid(data: Path) -> int:
    """The database server's main process, from its data folder."""
    return int((data / "postmaster.pid").read_text().split()[0])
