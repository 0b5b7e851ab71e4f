"""A registrar escalation reaches a ccTLD registrar whose registry prints no abuse desk, only the
registrar's general contact (AFNIC's layout, the .nz registry's): traced from the sandbox's own
answers, stored, and addressed by the escalation ladder, marked as not an abuse desk."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from hosting.common.cache import MemoryCache
from hosting.trace.result import HostingResult
from hosting.trace.tracer import resolve_urls
from notices.directory import Directory
from notices.mail.message import NoticeComposer
from registry.db import unit_of_work
from registry.escalation.service import ladder_of
from registry.models import Case, Notice, notice_cases
from registry.notifying.service import notify_cases
from registry.status import NoticeStatus
from registry.tracing.sources import TraceSources
from sandbox.testing import running_sandbox
from tests.demo.conftest import EscalateRun
from tests.demo.wider_world import FR_CONTACT, FR_URL, NZ_CONTACT, NZ_URL, wider_world
from tests.notify.seed import MONDAY, Hosting, traced_case
from tests.tracing.conftest import settings_for

pytestmark = pytest.mark.network


async def _trace(sources: TraceSources, urls: list[str]) -> list[HostingResult]:
    async with sources.open(MemoryCache()) as resolver:
        return await resolve_urls(urls, resolver)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostingResult]:
    world = wider_world(Path(tmp_path_factory.mktemp("wider")))
    with running_sandbox(world) as sandbox:
        sources = TraceSources.from_settings(settings_for(sandbox))
        results = asyncio.run(_trace(sources, [FR_URL, NZ_URL]))
    return dict(zip([FR_URL, NZ_URL], results, strict=True))


@pytest.mark.parametrize(("url", "contact"), [(FR_URL, FR_CONTACT), (NZ_URL, NZ_CONTACT)])
def test_the_registrar_is_found_only_through_its_general_contact(
    traced: dict[str, HostingResult], url: str, contact: str
) -> None:
    result = traced[url]
    assert result.registrar is not None and result.network is not None
    [found] = result.registrar.abuse_contacts
    assert found.email == contact
    assert found.kind == "registrar" and "registrar contact, not an abuse desk" in found.how


def test_the_escalation_goes_to_the_registrars_general_contact(
    traced: dict[str, HostingResult],
    engine: Engine,
    directory: Directory,
    composer: NoticeComposer,
    run_escalate: EscalateRun,
) -> None:
    ids = []
    with unit_of_work(engine) as session:
        for url in (FR_URL, NZ_URL):
            registrar = traced[url].registrar
            assert registrar is not None and registrar.name
            contacts = [c.to_json() for c in registrar.abuse_contacts]
            hosting = Hosting(registrar=registrar.name, registrar_contacts=contacts)
            ids.append(traced_case(session, url, hosting))
    with unit_of_work(engine) as session:
        notify_cases(session, ids, directory=directory, composer=composer, actor="t", now=MONDAY)
        pending = select(Notice.id).where(Notice.status == NoticeStatus.PENDING)
        linked = select(notice_cases.c.case_id).where(notice_cases.c.notice_id.in_(pending))
        session.execute(update(Case).where(Case.id.in_(linked)).values(first_notice_at=MONDAY))
        session.execute(
            update(Notice)
            .where(Notice.status == NoticeStatus.PENDING)
            .values(status=NoticeStatus.SENT, sent_at=MONDAY)
        )
        first = max(session.scalars(select(Notice.id)))
    summary = run_escalate(MONDAY + ladder_of(directory).escalate_after)
    assert summary.escalations == len(ids)
    with unit_of_work(engine) as session:
        notices = list(session.scalars(select(Notice).where(Notice.id > first)))
    told = Counter((n.kind, n.recipient_email) for n in notices)
    assert told[("registrar_suspension", FR_CONTACT)] == 1
    assert told[("registrar_suspension", NZ_CONTACT)] == 1
