"""A notice's PDF is made once, stored, and every later bundle carries those very bytes."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import Engine, select, update

from records.archive import verify
from records.bundle import build_bundle
from records.pdf import stored_pdfs
from records.signing import load_private_key
from registry.db import unit_of_work
from registry.models import Notice, NoticePdf, notice_cases
from tests.web.seed import World


def _pdf_members(engine: Engine, case_id: int, signing_key: str) -> dict[str, bytes]:
    key = load_private_key(signing_key)
    with unit_of_work(engine) as session:
        data = build_bundle(session, case_id, key, created_by="test").data
    assert verify(data, key.public_key()).ok
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".pdf")}


def test_the_first_bundle_stores_each_pdf_and_later_ones_reuse_it(
    engine: Engine, world: World, signing_key: str
) -> None:
    with engine.connect() as connection:
        assert connection.execute(select(NoticePdf.notice_id)).all() == []
    first = _pdf_members(engine, world.ours, signing_key)
    assert first and all(pdf.startswith(b"%PDF-") for pdf in first.values())
    with unit_of_work(engine) as session:
        stored = session.execute(select(NoticePdf.notice_id, NoticePdf.pdf)).tuples().all()
        notice_ids = set(
            session.scalars(
                select(notice_cases.c.notice_id).where(notice_cases.c.case_id == world.ours)
            )
        )
        assert {notice_id for notice_id, _ in stored} == notice_ids
        assert {f"notices/notice-{i}.pdf": pdf for i, pdf in stored} == first
        # What is stored is what later bundles carry: change it, and the bundle follows.
        session.execute(update(NoticePdf).values(pdf=b"%PDF-1.7 stored copy"))
    again = _pdf_members(engine, world.ours, signing_key)
    assert set(again.values()) == {b"%PDF-1.7 stored copy"}


def test_a_stored_pdf_of_other_text_is_not_used(
    engine: Engine, world: World, signing_key: str
) -> None:
    _pdf_members(engine, world.ours, signing_key)
    with unit_of_work(engine) as session:
        session.execute(update(NoticePdf).values(pdf=b"%PDF-1.7 old", rendered_sha256="0" * 64))
    pdfs = _pdf_members(engine, world.ours, signing_key)
    assert pdfs and all(pdf != b"%PDF-1.7 old" for pdf in pdfs.values())


def test_notices_without_a_stored_message_have_no_pdf(engine: Engine, world: World) -> None:
    with unit_of_work(engine) as session:
        notices = list(session.scalars(select(Notice)))
        for notice in notices:
            notice.rendered = None
        session.flush()
        assert stored_pdfs(session, notices) == {}
        assert session.scalars(select(NoticePdf)).all() == []


def test_when_another_process_stored_first_its_pdf_is_the_one_used(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from records import pdf as bundle_pdf

    def render_while_another_process_stores(rendered: str) -> bytes:
        # Between this process's read and its write, another one stores its PDF.
        with unit_of_work(engine) as other:
            notice = other.scalars(select(Notice).where(Notice.rendered == rendered)).one()
            other.add(
                NoticePdf(
                    notice_id=notice.id,
                    rendered_sha256=hashlib.sha256(rendered.encode()).hexdigest(),
                    pdf=b"%PDF-1.7 theirs",
                )
            )
        return b"%PDF-1.7 mine"

    monkeypatch.setattr(bundle_pdf, "notice_pdf", render_while_another_process_stores)
    with unit_of_work(engine) as session:
        notices = list(session.scalars(select(Notice).where(Notice.rendered.is_not(None))))
        assert notices
        pdfs = stored_pdfs(session, notices)
    assert set(pdfs.values()) == {b"%PDF-1.7 theirs"}
    with unit_of_work(engine) as session:
        assert set(session.scalars(select(NoticePdf.pdf))) == {b"%PDF-1.7 theirs"}
