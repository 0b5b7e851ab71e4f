"""What each notice kind says in each language (golden files), and how the templates are guarded.

Golden files live in ``tests/notices/golden/<kind>.<lang>.txt`` and ``.html``. After a deliberate
wording change, regenerate them with ``UPDATE_GOLDEN=1 pytest tests/notices`` and review the diff;
without that variable a mismatch or a missing file fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from notices.directory import Directory
from notices.kinds import NoticeKind
from notices.render import ZERO_WIDTH_SPACE, NoticeRenderer, TemplateMissing, reflow, unlinked
from tests.notices.samples import make_case, sample_notice

GOLDEN = Path(__file__).parent / "golden"
LANGUAGES = ("en", "es")


@pytest.fixture(scope="module")
def renderer() -> NoticeRenderer:
    return NoticeRenderer()


def _check_golden(path: Path, rendered: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path.name} is missing: run with UPDATE_GOLDEN=1 and review it")
    assert rendered == path.read_text(encoding="utf-8"), (
        f"{path.name} changed: if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_notice_matches_golden_file(
    kind: NoticeKind, language: str, renderer: NoticeRenderer, directory: Directory
) -> None:
    bodies = renderer.render(sample_notice(kind, language), directory.hotline)
    assert bodies.language == language and not bodies.fallback
    assert bodies.subject.startswith("[TD-000123] ")
    _check_golden(GOLDEN / f"{kind}.{language}.txt", f"Subject: {bodies.subject}\n\n{bodies.text}")
    _check_golden(GOLDEN / f"{kind}.{language}.html", bodies.html)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_urls_are_exact_in_text_and_never_links_in_html(
    kind: NoticeKind, language: str, renderer: NoticeRenderer, directory: Directory
) -> None:
    notice = sample_notice(kind, language)
    bodies = renderer.render(notice, directory.hotline)
    for url in notice.urls:
        assert f"{url}\n" in bodies.text  # on a line of its own, exactly as the host must act on it
        assert url not in bodies.html
        assert "<a " not in bodies.html.lower() and "href" not in bodies.html.lower()
        shown = str(unlinked(url))
        assert f"<code>{shown}</code>" in bodies.html
    assert "http://" not in bodies.html and "https://" not in bodies.html


def test_unlinked_breaks_scheme_and_host_and_escapes() -> None:
    shown = str(unlinked('https://www.example.bz/a.b?q="<x>"'))
    assert shown == (
        f"https{ZERO_WIDTH_SPACE}://www{ZERO_WIDTH_SPACE}.example{ZERO_WIDTH_SPACE}.bz"
        "/a.b?q=&#34;&lt;x&gt;&#34;"
    )


def test_unknown_language_falls_back_to_english(
    renderer: NoticeRenderer, directory: Directory
) -> None:
    bodies = renderer.render(sample_notice(NoticeKind.HOTLINE_REFERRAL, "nl"), directory.hotline)
    assert bodies.language == "en" and bodies.fallback
    assert "We refer to you" in bodies.text


def test_every_kind_has_english_and_spanish(renderer: NoticeRenderer) -> None:
    for kind in NoticeKind:
        assert renderer.languages(kind) == ["en", "es"]


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ 7*7 }}",
        "{% for x in range(10**9) %}x{% endfor %}",
        "Evil\r\nBcc: victim@example.org",
        "<script>alert(1)</script>",
        "A" * 10_000,
    ],
)
def test_registry_text_is_a_value_never_template_source(
    hostile: str, renderer: NoticeRenderer, directory: Directory
) -> None:
    case = make_case(5, host_name=hostile)
    notice = sample_notice(NoticeKind.HOST_TAKEDOWN, "en", name=case.host_contacts[0].name)
    bodies = renderer.render(notice, directory.hotline)
    assert "49" not in bodies.text.split("Case reference")[0]
    assert "<script>" not in bodies.html
    assert "\r" not in bodies.text and "Bcc:" not in bodies.subject
    assert len(bodies.text) < 3000  # the 10,000-character name was capped at intake


def test_strict_undefined_and_sandbox(tmp_path: Path, directory: Directory) -> None:
    for lang in ("en",):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "subjects.yaml").write_text(
            "host_takedown: x\nreminder: y\n", encoding="utf-8"
        )
        (tmp_path / lang / "host_takedown.txt.j2").write_text("{{ no_such_value }}")
        (tmp_path / lang / "host_takedown.html.j2").write_text("x")
        (tmp_path / lang / "reminder.txt.j2").write_text("{{ items.__class__.__mro__ }}")
        (tmp_path / lang / "reminder.html.j2").write_text("x")
    custom = NoticeRenderer(tmp_path)
    with pytest.raises(UndefinedError):
        custom.render(sample_notice(NoticeKind.HOST_TAKEDOWN, "en"), directory.hotline)
    with pytest.raises(SecurityError):
        custom.render(sample_notice(NoticeKind.REMINDER, "en"), directory.hotline)
    with pytest.raises(TemplateMissing):
        custom.render(sample_notice(NoticeKind.CDN_REQUEST, "en"), directory.hotline)


def test_reflow_wraps_prose_and_keeps_lists_and_long_urls() -> None:
    prose = "word " * 30 + "\n\n  1. kept as\n     written\n\nhttp://" + "x" * 90 + " end\n"
    out = reflow(prose, 40)
    paragraphs = out.split("\n\n")
    assert all(len(line) <= 40 for line in paragraphs[0].splitlines())
    assert paragraphs[1] == "  1. kept as\n     written"
    assert paragraphs[2].splitlines()[0] == "http://" + "x" * 90
    assert out.endswith("end\n")
