"""Prefect's logs, and its temporary server's, in a file of the demo folder instead of the console.

The console is the demo's live view. Prefect's temporary server is a subprocess sharing the
demo's terminal, and when its SQLite database is busy it prints long tracebacks there; the
flows' own warnings would land there too. Both go to ``prefect.log`` in the demo folder: the
loggers through a logging configuration Prefect reads when it is first imported, the server's
raw output because it is started with its standard output and error pointing at the file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

LOG_NAME = "prefect.log"


def _default_config() -> dict[str, Any]:
    """Prefect's own logging configuration (found without importing Prefect)."""
    spec = importlib.util.find_spec("prefect")
    assert spec is not None and spec.origin is not None
    config: dict[str, Any] = yaml.safe_load(
        (Path(spec.origin).parent / "logging" / "logging.yml").read_text(encoding="utf-8")
    )
    return config


def logging_config(log_file: Path) -> dict[str, Any]:
    """Prefect's logging configuration with every console handler writing to ``log_file``.

    Flow and task run logs still go to Prefect's API, from warnings up only: the file has the
    detail, and the temporary server's single-writer database is spared the chatter.
    """
    config = _default_config()
    handlers = config["handlers"]
    for name in ("console", "debug"):
        handlers[name] = {
            "level": 0,
            "class": "logging.FileHandler",
            "formatter": handlers[name].get("formatter", "standard"),
            "filename": str(log_file),
            "encoding": "utf-8",
        }
    handlers["api"]["level"] = "WARNING"
    return config


def keep_prefect_logs_in(folder: Path) -> Path:
    """Point Prefect's logging at ``folder/prefect.log`` unless told otherwise; call before
    Prefect is first imported. Returns the log file."""
    log_file = folder / LOG_NAME
    settings_file = folder / "prefect" / "logging.yml"
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(
        yaml.safe_dump(logging_config(log_file), sort_keys=False), encoding="utf-8"
    )
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(settings_file))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    return log_file


@contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Point this process's standard output and error (file descriptors 1 and 2) at
    ``log_file`` for the block; a subprocess started meanwhile keeps writing there."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with log_file.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@contextmanager
def temporary_prefect_server(log_file: Path) -> Iterator[None]:
    """Start Prefect's temporary server for the block, its output going to ``log_file``, and
    stop it after; nothing to do when ``PREFECT_API_URL`` names a server already."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        yield
        return
    # The same instance Prefect's client takes when a flow first needs the API.
    server = SubprocessASGIServer()
    with output_to(log_file):
        server.start()
    try:
        yield
    finally:
        server.stop()
