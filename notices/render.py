"""Turning a planned notice into words: subject, plain text and HTML, in the recipient's language.

Templates live in ``notices/templates/<language>/<kind>.txt.j2`` and ``.html.j2``, with one
``subjects.yaml`` per language. Each kind extends its language's ``_layout.txt.j2`` /
``_layout.html.j2`` (greeting, the URL list, signature) and fills two blocks, ``intro`` and
``closing``; prose in the plain-text blocks is re-wrapped to 72 columns by the ``reflow`` filter.
Inheritance rather than ``{% include %}`` keeps rendering cheap: one template per part, no extra
context per partial. Templates are compiled once, in a sandboxed Jinja2 environment with
``StrictUndefined`` (a missing value is an error, not an empty string) and autoescaping for HTML.
Registry data reaches a template only as a value in the context: a contact name such as
``{{ 7*7 }}`` is printed as those characters, never evaluated.

URLs: the plain-text part carries each URL exactly, so the recipient can copy and act on it. The
HTML part never makes a link: there is no ``<a>``, and each URL is shown in ``<code>`` with a
zero-width space (U+200B) after the scheme name and before every dot of the host, which stops
mail clients from turning it into a link (a copy from the HTML part is deliberately not a
working URL; the exact URL is in the text part and the X-ARF report).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from notices.directory import Hotline
from notices.kinds import NoticeKind
from notices.routing import DEFAULT_LANGUAGE, PlannedNotice
from notices.yamlfile import load_strict_yaml

TEMPLATES_DIR = Path(__file__).parent / "templates"
ZERO_WIDTH_SPACE = "\u200b"
TEXT_WIDTH = 72
MAX_REFERENCES_IN_SUBJECT = 3


class TemplateMissing(LookupError):
    """No template for a notice kind exists in the requested language nor in English."""


@dataclass(frozen=True, slots=True)
class RenderedBodies:
    """The human-readable parts of a notice."""

    subject: str
    text: str
    html: str
    language: str
    """The language actually used (English when the preferred one has no templates)."""
    fallback: bool
    """True when the preferred language had no templates for this kind."""


def unlinked(url: str) -> Markup:
    """Escape ``url`` for HTML and break it so that mail clients cannot auto-link it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return escape(url)
    host, slash, path = rest.partition("/")
    broken_host = host.replace(".", ZERO_WIDTH_SPACE + ".")
    # Markup.join escapes every piece; the zero-width space is not touched by escaping.
    return Markup("").join((scheme, ZERO_WIDTH_SPACE, sep, broken_host, slash, path))


def _wrap(words: list[str], width: int) -> str:
    # Greedy fill; a word longer than the width (a URL) gets a line of its own, unbroken.
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=4096)
def reflow(text: str, width: int = TEXT_WIDTH) -> str:
    """Re-wrap prose paragraphs of plain text to ``width``; indented paragraphs stay as written.

    Templates write prose with conditional phrases of varying length; reflowing after rendering
    keeps the plain-text part evenly wrapped. Words (and URLs) are never broken. Cached: most
    notices share their prose word for word.
    """
    body = text.rstrip("\n")
    trailing = text[len(body) :]
    paragraphs = []
    for paragraph in body.split("\n\n"):
        lines = paragraph.split("\n")
        if not paragraph.strip() or any(line.startswith(" ") for line in lines):
            paragraphs.append(paragraph)
        else:
            paragraphs.append(_wrap(paragraph.split(), width))
    return "\n\n".join(paragraphs) + trailing


def format_instant(value: datetime | None) -> str:
    """A UTC instant as ``2026-03-02 14:05 UTC`` (the same in every language)."""
    if value is None:
        return ""
    # Formatted by hand: strftime is the slowest step of rendering an item.
    day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return f"{day} {value.hour:02d}:{value.minute:02d} UTC"


class _NoticeSandbox(SandboxedEnvironment):
    """The sandbox, with a fast path for the data fields of our own read-only views.

    The views hold only strings, booleans and tuples of strings, so reading one of their fields
    needs none of the sandbox's checks; everything else goes through them unchanged.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute in _VIEW_FIELDS.get(type(obj), ()):
            return object.__getattribute__(obj, attribute)
        return super().getattr(obj, attribute)


class NoticeRenderer:
    """Renders planned notices; build one and reuse it (templates are compiled once)."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self._env = _NoticeSandbox(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._env.filters["unlinked"] = unlinked
        self._env.filters["instant"] = format_instant
        self._env.filters["reflow"] = reflow
        self._subjects = _load_subjects(templates_dir)
        self._templates: dict[tuple[str, NoticeKind, str], Template] = {}
        self._available = {
            (lang, kind)
            for lang, phrases in self._subjects.items()
            for kind in NoticeKind
            if kind in phrases
            and (templates_dir / lang / f"{kind}.txt.j2").is_file()
            and (templates_dir / lang / f"{kind}.html.j2").is_file()
        }

    def languages(self, kind: NoticeKind) -> list[str]:
        """Languages that have a complete template set for ``kind``."""
        return sorted(lang for lang, k in self._available if k == kind)

    def render(self, notice: PlannedNotice, hotline: Hotline) -> RenderedBodies:
        """Render subject, text and HTML of ``notice`` in its language, or in English."""
        language = notice.language
        if (language, notice.kind) not in self._available:
            language = DEFAULT_LANGUAGE
            if (language, notice.kind) not in self._available:
                raise TemplateMissing(f"no {notice.kind} templates in {notice.language} or en")
        references = notice.references
        context = notice_context(notice, hotline, references)
        text = self._template(language, notice.kind, "txt").render(context)
        html = self._template(language, notice.kind, "html").render(context)
        return RenderedBodies(
            subject=subject_line(references, self._subjects[language][notice.kind]),
            text=text,
            html=html,
            language=language,
            fallback=language != notice.language,
        )

    def _template(self, language: str, kind: NoticeKind, part: str) -> Template:
        # Compiled once; kept here so the hot path skips the environment's cache lookup.
        key = (language, kind, part)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._env.get_template(f"{language}/{kind}.{part}.j2")
        return template


def subject_line(references: tuple[str, ...], phrase: str) -> str:
    """``[TD-000123] <phrase>``; with many cases the first few and a count of the rest."""
    shown = list(references[:MAX_REFERENCES_IN_SUBJECT])
    if len(references) > MAX_REFERENCES_IN_SUBJECT:
        shown.append(f"+{len(references) - MAX_REFERENCES_IN_SUBJECT}")
    return f"[{', '.join(shown)}] {phrase}"


@dataclass(frozen=True, slots=True)
class HotlineView:
    """What templates may show about us."""

    name: str
    code: str
    country: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class NoticeView:
    """What templates may show about the notice; instants are formatted strings ('' if unknown)."""

    kind: str
    role: str
    circumstance: str
    references: tuple[str, ...]
    recipient_name: str
    recipient_address: str
    clearance_requested: bool
    first_notice_at: str
    last_checked_at: str


@dataclass(frozen=True, slots=True)
class ItemView:
    """What templates may show about one URL; missing facts are ''."""

    reference: str
    url: str
    display: str
    confirmed_at: str
    sha256: str
    report_ids: tuple[str, ...]
    source: str
    category: str
    hosting_country: str
    registered_domain: str
    network_name: str
    asn: str
    prefix: str
    ticket: str
    """The host's own ticket number for the case, from its acknowledgement."""


_VIEW_FIELDS: dict[type, frozenset[str]] = {
    view: frozenset(f.name for f in fields(view)) for view in (HotlineView, NoticeView, ItemView)
}


def notice_context(
    notice: PlannedNotice, hotline: Hotline, references: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The values a template may use: read-only views of plain strings, numbers and tuples.

    (Attribute objects rather than dicts: the sandbox resolves ``item.url`` on them directly.)
    """
    first_notices = [i.first_notice_at for i in notice.items if i.first_notice_at]
    last_checks = [i.last_checked_at for i in notice.items if i.last_checked_at]
    items = [
        ItemView(
            reference=item.reference,
            url=item.url,
            display=item.display,
            confirmed_at=format_instant(item.confirmed_at),
            sha256=item.content_sha256 or "",
            report_ids=item.report_ids,
            source=item.source or "",
            category=item.category,
            hosting_country=item.hosting_country or "",
            registered_domain=item.registered_domain or "",
            network_name=item.network_name or "",
            asn=f"AS{item.asn}" if item.asn else "",
            prefix=item.prefix or "",
            ticket=item.ticket or "",
        )
        for item in notice.items
    ]
    return {
        "hotline": HotlineView(hotline.name, hotline.code, hotline.country, hotline.reply_to),
        "notice": NoticeView(
            kind=str(notice.kind),
            role=str(notice.role),
            circumstance=str(notice.circumstance),
            references=notice.references if references is None else references,
            recipient_name=notice.recipient_name or "",
            recipient_address=notice.recipient_address,
            clearance_requested=notice.clearance_requested,
            first_notice_at=format_instant(min(first_notices)) if first_notices else "",
            last_checked_at=format_instant(max(last_checks)) if last_checks else "",
        ),
        "items": items,
        "many": len(items) > 1,
    }


def _load_subjects(templates_dir: Path) -> dict[str, Mapping[str, str]]:
    subjects: dict[str, Mapping[str, str]] = {}
    for path in sorted(templates_dir.glob("*/subjects.yaml")):
        phrases = load_strict_yaml(path.read_text(encoding="utf-8"))
        if not isinstance(phrases, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in v for k, v in phrases.items()
        ):
            raise TemplateMissing(f"{path.parent.name}/subjects.yaml: expected kind: phrase lines")
        subjects[path.parent.name] = phrases
    return subjects
