"""A notice as a printable PDF: the HTML part of the message as sent, through WeasyPrint.

The PDF is made from the very HTML the recipient received (taken from the stored message), so
it cannot drift from the mail. WeasyPrint is given a fetcher that refuses every URL: a notice
never pulls anything from the network, whatever its HTML says. A notice's PDF is made on its
first download and stored (``notice_pdfs``), so every later bundle carries the same bytes and
no process renders it again.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import threading
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.bulk.writes import insert_ignoring_conflicts
from registry.db import unit_of_work, writers_queue
from registry.models import Notice, NoticePdf

_render_lock = threading.Lock()


class NoRemoteResources(ValueError):
    """Raised for every resource a notice's HTML asks for."""


def notice_html(rendered: str) -> str:
    """The HTML body of a stored RFC 5322 message (its plain text in ``<pre>`` if it has none)."""
    message = email.message_from_string(rendered, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "<!DOCTYPE html><html><body><p>(empty message)</p></body></html>"
    content = part.get_content()
    if part.get_content_subtype() == "html":
        return str(content)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<pre style='white-space: pre-wrap'>{html.escape(str(content))}</pre></body></html>"
    )


def stored_pdfs(session: Session, notices: Sequence[Notice]) -> dict[int, bytes]:
    """The PDF of each of ``notices`` that has a stored message, by notice id.

    Those made before are read back; the others are rendered now and stored in a short
    transaction of their own (the caller's session may be read-only). Two processes making
    the same one at once both succeed: the first stored is kept.
    """
    sources = {n.id: n.rendered for n in notices if n.rendered is not None}
    if not sources:
        return {}
    digests = {notice_id: _digest(text) for notice_id, text in sources.items()}
    found = _stored(session, sources, digests)
    made = {
        notice_id: notice_pdf(text) for notice_id, text in sources.items() if notice_id not in found
    }
    if made:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        with writers_queue(engine), unit_of_work(engine) as writer:
            rows = [
                {"notice_id": i, "rendered_sha256": digests[i], "pdf": pdf, "made_at": utcnow()}
                for i, pdf in made.items()
            ]
            stored = insert_ignoring_conflicts(
                writer,
                NoticePdf.__table__,  # type: ignore[arg-type]
                rows,
                conflict_columns=["notice_id"],
                returning=["notice_id"],
            )
            # Another process stored some first: theirs are the ones every bundle carries.
            theirs = set(made) - {notice_id for (notice_id,) in stored}
            if theirs:
                made.update(_stored(writer, theirs, digests))
        found.update(made)
    return found


def _stored(
    session: Session, notice_ids: Iterable[int], digests: dict[int, str]
) -> dict[int, bytes]:
    """The stored PDFs of ``notice_ids`` that were made from the text whose digest is given."""
    rows = session.execute(
        select(NoticePdf.notice_id, NoticePdf.rendered_sha256, NoticePdf.pdf).where(
            NoticePdf.notice_id.in_(list(notice_ids))
        )
    ).tuples()
    # Notices are never re-rendered once sent; a PDF of other text is not this notice's.
    return {notice_id: pdf for notice_id, digest, pdf in rows if digests[notice_id] == digest}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def notice_pdf(rendered: str) -> bytes:
    """The printable PDF of a stored message's HTML part, rendered now."""
    return _pdf_of_html(notice_html(rendered))


@lru_cache(maxsize=64)
def _pdf_of_html(markup: str) -> bytes:
    # Kept for notices of identical HTML (one message to several recipients).
    import weasyprint  # slow to import; only bundles need it
    from weasyprint.urls import URLFetcher

    class _RefuseAll(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise NoRemoteResources(f"remote resources are never fetched ({url[:80]})")

    # Font and layout libraries underneath are not known to be thread-safe.
    with _render_lock:
        pdf = weasyprint.HTML(string=markup, url_fetcher=_RefuseAll(), base_url=None).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
