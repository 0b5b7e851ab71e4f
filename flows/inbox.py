"""The inbox flow: read the inbound mailbox, store each new message once, match and act on it.

Thin: reading the mailbox is :mod:`notices.transport.mailbox`'s, storing and acting
:mod:`registry.replies.service`'s. One task run reads the mailbox in batches; each batch is
one transaction, and its messages are marked stored in the mailbox only after the commit, so a
crash in between only means they are read (and found stored) again.
"""

from __future__ import annotations

import ssl
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.notify import composer_for
from notices.transport.mailbox import Inbox, InboxUnusable, inbox_from_url
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.replies.reroute import Rerouting
from registry.replies.service import ACTOR, InboxSummary, take_in
from settings import get_settings

DEFAULT_BATCH = 100
DEFAULT_MAX_BATCHES = 50


class NoInbox(InboxUnusable):
    def __init__(self) -> None:
        super().__init__(
            "no inbox: set TAKEDOWN_INBOX_URL (maildir:///path or imaps://user:pass@host/INBOX)"
        )


def open_inbox() -> Inbox:
    """The configured inbox, opened; :class:`NoInbox` when none is set."""
    settings = get_settings()
    if settings.inbox_url is None:
        raise NoInbox()
    context = None
    if settings.inbox_ca_file is not None:
        context = ssl.create_default_context(cafile=str(settings.inbox_ca_file))
    return inbox_from_url(settings.inbox_url.get_secret_value(), ssl_context=context)


def rerouting() -> Rerouting | None:
    """What re-routing a bounced notice needs, when a partner directory is configured."""
    path = get_settings().directory
    if path is None:
        return None
    directory, composer = composer_for(path)
    return Rerouting(directory, composer)


def read_inbox(
    inbox: Inbox,
    *,
    database_url: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int = DEFAULT_MAX_BATCHES,
    flow_run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Take in the inbox's waiting messages, batch by batch; the summaries of the batches."""
    engine = engine_for(database_url)
    routing = rerouting()
    batches: list[dict[str, Any]] = []
    for _ in range(max_batches):
        fetched = inbox.fetch(batch_size)
        if not fetched:
            break
        with unit_of_work(engine) as session:
            summary = take_in(
                session,
                [f.raw for f in fetched],
                mailbox=inbox.label,
                rerouting=routing,
                now=utcnow(),
                actor=ACTOR,
                flow_run_id=flow_run_id,
            )
        inbox.done([f.key for f in fetched])
        batches.append(summary.to_json())
        if len(fetched) < batch_size:
            break
    return batches


@task(name="inbox-read", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def read_inbox_task(
    batch_size: int = DEFAULT_BATCH,
    max_batches: int = DEFAULT_MAX_BATCHES,
    database_url: str | None = None,
) -> list[dict[str, Any]]:
    """Open the configured inbox and take in what waits there."""
    inbox = open_inbox()
    try:
        return read_inbox(
            inbox,
            database_url=database_url,
            batch_size=batch_size,
            max_batches=max_batches,
            flow_run_id=str(flow_run.get_id() or "") or None,
        )
    finally:
        inbox.close()


@flow(name="inbox", log_prints=False)
def inbox_flow(
    batch_size: int = DEFAULT_BATCH,
    max_batches: int = DEFAULT_MAX_BATCHES,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Read the inbound mailbox: bounces, acknowledgements and replies land on their cases."""
    logger = get_run_logger()
    open_inbox().close()  # refuse before any task without a usable inbox
    batches = read_inbox_task(batch_size, max_batches, database_url)
    total = InboxSummary.add_up(batches)
    logger.info(
        "%d messages stored (%d duplicates), %d matched, %d unmatched, %d addresses dead, "
        "%d notices re-routed, %d rechecks brought forward, %d for an analyst",
        total["stored"],
        total["duplicates"],
        total["matched"],
        total["unmatched"],
        total["dead_addresses"],
        total["rerouted"],
        total["rechecks"],
        total["needs_analyst"],
    )
    return total
