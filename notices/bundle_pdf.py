"""A notice as a printable PDF: the HTML part of the message as sent, through WeasyPrint.

The PDF is made from the very HTML the recipient received (taken from the stored message), so
it cannot drift from the mail. WeasyPrint is given a fetcher that refuses every URL: a notice
never pulls anything from the network, whatever its HTML says.
"""

from __future__ import annotations

import email
import email.policy
import html
import threading
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

PDF_CACHE_SIZE = 1024
"""Notices are immutable once rendered, so their PDFs are kept (a few tens of kB each, so
a few tens of MB at most per process)."""

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


@lru_cache(maxsize=PDF_CACHE_SIZE)
def notice_pdf(rendered: str) -> bytes:
    """The printable PDF of a stored message's HTML part (kept: a sent message never changes)."""
    return _pdf_of_html(notice_html(rendered))


@lru_cache(maxsize=PDF_CACHE_SIZE)
def _pdf_of_html(markup: str) -> bytes:
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
