"""In a real browser: an analyst opens a case; a liaison officer gets their bundle, nothing else."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect

from records.archive import verify
from records.signing import load_private_key
from tests.web.browser import browser  # noqa: F401 (fixture)
from tests.web.conftest import LiveServer
from tests.web.routes import all_routes
from tests.web.seed import AGENCY, OTHER_AGENCY, PASSWORD, World


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:  # noqa: F811
    ctx = browser.new_context(base_url=live_server.url, accept_downloads=True)
    try:
        yield ctx
    finally:
        ctx.close()


def sign_in(page: Page, name: str) -> None:
    page.goto("/sign-in")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(name)


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TAKEDOWN_TEST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_analyst_opens_a_case_from_pasted_urls_and_follows_it(
    context: BrowserContext, world: World, tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, "ana")
    page.click("nav >> text=Open")
    page.fill("textarea[name=urls]", "http://fresh.example/new/page.html\nftp://nope.example/x")
    page.select_option("select[name=category]", "B")
    page.click("form:has(textarea) button[type=submit]")
    result = page.locator("section.result")
    expect(result).to_contain_text("1 opened")
    expect(result).to_contain_text("scheme 'ftp' is not allowed")
    result.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("TD-")
    expect(page.locator("code.url").first).to_have_text("hxxp://fresh[.]example/new/page.html")
    expect(page.locator("table.timeline")).to_contain_text("opened")
    # No link anywhere points outside the app.
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith("/") for h in hrefs), hrefs
    folder = screenshot_folder(tmp_path)
    page.goto(f"/cases/{world.ours}")
    page.screenshot(path=str(folder / "case.png"), full_page=True)
    page.goto("/dashboard")
    expect(page.locator(".tiles")).to_contain_text("cases")
    page.screenshot(path=str(folder / "dashboard.png"), full_page=True)


def test_a_liaison_officer_downloads_a_bundle_that_verifies(
    context: BrowserContext, world: World, signing_key: str, tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, "liz")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.reference(world.ours))
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_contain_text(world.reference(world.ours))
    with page.expect_download() as download_info:
        page.click("text=Evidence bundle")
    path = tmp_path / "bundle.zip"
    download_info.value.save_as(path)
    data = path.read_bytes()
    check = verify(data, load_private_key(signing_key).public_key())
    assert check.ok, check.problems
    assert check.case_reference == world.reference(world.ours)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert any(name.endswith(".pdf") for name in archive.namelist())


# ---- least privilege, route by route ---------------------------------------------------------


def _requests_for(
    app: FastAPI, world: World, case_id: int
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route of the app, as requests aimed at ``case_id`` or at other agencies' data.

    Signing out comes last, so that every other route is tried while signed in.
    """
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for route_path, methods in all_routes(app.routes):
        if "MOUNT" in methods:
            requests.append(("GET", f"{route_path}/site.css", {"params": {}}))
            continue
        # A user's name: another user's account, which a liaison officer may not touch.
        path = (
            route_path.replace("{case_id}", str(case_id))
            .replace("{name}", "ana")
            # A received message: numbered like the case, so it is checked like the case.
            .replace("{message_id}", str(case_id))
        )
        assert "{" not in path, f"a path parameter the test does not know: {path}"
        for method in sorted(methods - {"HEAD"}):
            variants: list[dict[str, Any]] = [{}]
            if path in ("/cases", "/api/cases"):
                variants = [
                    {},
                    {"host": world.hosts[case_id]},
                    {"country": "GB"},
                    {"status": "notified"},
                    {"before": 1_000_000},
                ]
            elif path == "/referrals.csv":
                variants = [
                    {"partner": OTHER_AGENCY, "since": "2026-01-01", "until": "2026-12-31"},
                    {"since": "2026-01-01", "until": "2026-12-31"},
                ]
            elif path == "/audit":
                variants = [{}, {"verify": "true"}]
            requests.extend((method, path, {"params": v}) for v in variants)
    return sorted(requests, key=lambda r: r[1] == "/sign-out")


def _form(method: str, csrf: str) -> dict[str, Any]:
    if method != "POST":
        return {}
    return {
        "form": {
            "csrf_token": csrf,
            "reason": "probing",
            "role": "host",
            "email": "x@example.org",
            "urls": "http://probe.example/",
            "category": "A",
            "name": "intruder",
            "password": "intruder password 1",
        }
    }


def _leaks(body: bytes, world: World, case_id: int, echoed: dict[str, Any]) -> list[str]:
    """Traces of the case in a response; what the request itself sent (a filter the page
    echoes back in its form) does not count."""
    sent = {str(v) for v in echoed.values()}
    markers = [
        world.reference(case_id),
        world.hosts[case_id],
        world.hosts[case_id].replace(".", "[.]"),
        f'/cases/{case_id}"',
    ]
    return [m for m in markers if m not in sent and m.encode() in body]


def test_a_liaison_officer_sees_no_other_agencys_case_by_any_route(
    context: BrowserContext, app: FastAPI, world: World, live_server: LiveServer
) -> None:
    page = context.new_page()
    bearer = {"Authorization": f"Bearer {world.tokens['liz']}"}
    tried: set[str] = set()
    for forbidden_case in (world.theirs, world.unreferred):
        sign_in(page, "liz")
        csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
        for method, path, options in _requests_for(app, world, forbidden_case):
            pattern = path.replace(str(forbidden_case), "{case_id}")
            pattern = pattern.replace("/admin/users/ana/", "/admin/users/{name}/")
            pattern = pattern.replace("/messages/{case_id}/", "/messages/{message_id}/")
            tried.add(f"{method} {pattern}")
            # Once as the signed-in browser (cookie), once as a machine (bearer token).
            for headers in ({}, bearer):
                response = context.request.fetch(
                    path,
                    method=method,
                    headers=headers,
                    max_redirects=0,
                    **options,
                    **_form(method, csrf),
                )
                assert response.status < 500, (method, path, response.status)
                body = response.body()
                assert not _leaks(body, world, forbidden_case, options["params"]), (
                    method,
                    path,
                    options,
                    response.status,
                )
                if str(forbidden_case) in path:
                    assert response.status in (403, 404), (method, path, response.status)
    every_route = {
        f"{method} {path}"
        for path, methods in all_routes(app.routes)
        if "MOUNT" not in methods
        for method in methods - {"HEAD"}
    }
    assert every_route <= tried, every_route - tried
    session = context.request
    sign_in(page, "liz")
    # Positive control: the same routes do serve the officer's own case.
    for path in (
        f"/cases/{world.ours}",
        f"/cases/{world.ours}/bundle",
        f"/cases/{world.ours}/timeline.csv",
        f"/api/cases/{world.ours}",
        f"/api/cases/{world.ours}/bundle",
    ):
        headers = bearer if path.startswith("/api") else {}
        response = session.get(path, headers=headers, max_redirects=0)
        assert response.status == 200, (path, response.status)
        assert world.reference(world.ours).encode() in response.body() or path.endswith(
            ("bundle", ".csv")
        )
    listed = session.get("/api/cases", headers=bearer).json()
    assert [c["id"] for c in listed["cases"]] == [world.ours]
    assert AGENCY  # the officer's agency, for the reader of a failure
