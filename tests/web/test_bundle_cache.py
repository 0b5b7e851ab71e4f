"""The bundle cache: the same bytes while nothing changes, a new bundle after any change of the
case or its evidence, every download still audited, and names that tell nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select, update
from typer.testing import CliRunner

from records.bundle import verify_bundle
from records.cache import BundleCache, begin_snapshot, bundle_cache, cached_bundle
from records.signing import load_private_key
from registry.db import session_factory, unit_of_work
from registry.models import AuditEntry, Case, CaseEvent, Evidence, Resolution, notice_cases
from registry.status import EventKind
from settings import get_settings
from takedown.cli import app
from tests.web.conftest import LiveServer
from tests.web.seed import T0, World
from web.config import WebConfig

runner = CliRunner()


def _download(server: LiveServer, token: str, case_id: int) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        return client.get(f"/api/cases/{case_id}/bundle", headers=headers)


def _cached_files(config: WebConfig) -> list[Path]:
    folder = config.bundle_cache_dir
    assert folder is not None
    return sorted(folder.glob("*.zip")) if folder.exists() else []


def _downloads_audited(engine: Engine, reference: str) -> int:
    with session_factory(engine)() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "download", AuditEntry.subject == reference)
            )
            or 0
        )


def _case_json(data: bytes) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = json.loads(archive.read("case.json"))
    assert isinstance(document, dict)
    return document


def test_a_second_download_is_the_same_file_and_is_audited(
    live_server: LiveServer, engine: Engine, world: World, web_config: WebConfig, signing_key: str
) -> None:
    token = world.tokens["liz"]
    first = _download(live_server, token, world.ours)  # stores the PDFs, then the bundle
    second = _download(live_server, token, world.ours)
    third = _download(live_server, token, world.ours)
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.content == second.content == third.content
    assert verify_bundle(third.content, load_private_key(signing_key).public_key()).ok
    assert _downloads_audited(engine, world.reference(world.ours)) == 3
    names = [path.name for path in _cached_files(web_config)]
    assert names and all(len(name) == len("0" * 64 + ".zip") for name in names)
    reference = world.reference(world.ours)
    assert not any(reference in name for name in names)
    # Audited with the digest of the bytes actually sent.
    with session_factory(engine)() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "download").order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None and entry.actor == "liz"
    assert entry.detail["sha256"] == hashlib.sha256(third.content).hexdigest()


def test_any_change_of_the_case_or_its_evidence_gives_a_new_bundle(
    live_server: LiveServer, engine: Engine, world: World
) -> None:
    token = world.tokens["ana"]
    _download(live_server, token, world.ours)
    before = _download(live_server, token, world.ours).content
    assert _download(live_server, token, world.ours).content == before  # a hit

    with unit_of_work(engine) as session:  # the case itself
        session.execute(update(Case).where(Case.id == world.ours).values(hosting_country="BE"))
    changed = _download(live_server, token, world.ours).content
    assert changed != before and _case_json(changed)["hosting_country"] == "BE"

    with unit_of_work(engine) as session:  # a new event on its timeline
        session.add(
            CaseEvent(
                case_id=world.ours,
                at=T0 + timedelta(days=1),
                kind=EventKind.NOTE,
                actor="ana",
                reason="host says it is gone",
            )
        )
    noted = _download(live_server, token, world.ours).content
    with zipfile.ZipFile(io.BytesIO(noted)) as archive:
        assert b"host says it is gone" in archive.read("timeline.csv")

    with unit_of_work(engine) as session:  # its evidence altered: refused, not served stale
        evidence_id = session.scalar(
            select(Evidence.id)
            .join(Resolution, Resolution.id == Evidence.resolution_id)
            .where(Resolution.case_id == world.ours)
        )
        session.execute(update(Evidence).where(Evidence.id == evidence_id).values(raw="forged\n"))
    refused = _download(live_server, token, world.ours)
    assert refused.status_code == 409 and f"evidence {evidence_id}" in refused.text


def test_each_reader_gets_a_bundle_made_for_them(
    live_server: LiveServer, world: World, signing_key: str
) -> None:
    for name in ("ana", "liz", "ana", "liz"):
        data = _download(live_server, world.tokens[name], world.ours).content
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        assert manifest["created_by"] == name
        included = _case_json(data)["notices_included"]
        assert included == ("all" if name == "ana" else "addressed to nl-hotline")


def test_concurrent_downloads_of_one_case_all_get_a_whole_bundle(
    live_server: LiveServer, world: World, web_config: WebConfig, signing_key: str
) -> None:
    public = load_private_key(signing_key).public_key()
    results: list[bytes] = []
    lock = threading.Lock()

    def fetch() -> None:
        for _ in range(3):
            reply = _download(live_server, world.tokens["liz"], world.ours)
            assert reply.status_code == 200
            with lock:
                results.append(reply.content)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 18
    assert all(verify_bundle(data, public).ok for data in results)
    folder = web_config.bundle_cache_dir
    assert folder is not None
    assert not [p for p in folder.iterdir() if not p.name.endswith(".zip")]  # no part left


def test_the_folder_keeps_to_its_cap_dropping_the_least_recently_used(tmp_path: Path) -> None:
    cache = BundleCache(tmp_path, max_bytes=2500, secret=b"k" * 32)
    cache.put("a", b"a" * 1000)
    cache.put("b", b"b" * 1000)
    os.utime(cache.path("a"), (1, 1))
    os.utime(cache.path("b"), (2, 2))
    assert cache.get("a") == b"a" * 1000  # used: now the most recent
    cache.put("c", b"c" * 1000)
    assert cache.get("b") is None
    assert cache.get("a") == b"a" * 1000 and cache.get("c") == b"c" * 1000
    cache.put("huge", b"x" * 3000)  # larger than the whole cache: not kept
    assert cache.get("huge") is None
    left = tmp_path / ".left-by-a-crash.part"
    left.write_bytes(b"half a bundle")
    os.utime(left, (1, 1))
    cache.trim()
    assert not left.exists()
    assert cache.path("a").stat().st_mode & 0o777 == 0o600  # for the service's user only


def test_an_unusable_folder_costs_the_cache_not_the_download(
    engine: Engine, world: World, signing_key: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = load_private_key(signing_key)
    not_a_folder = tmp_path / "bundle-cache"
    not_a_folder.write_bytes(b"a file where the folder should be")
    cache = bundle_cache(not_a_folder, 1, key)
    assert cache is not None
    for _ in range(2):
        with session_factory(engine)() as session:
            begin_snapshot(session)
            bundle, hit = cached_bundle(session, world.ours, key, created_by="t", cache=cache)
        assert not hit and verify_bundle(bundle.data, key.public_key()).ok
    assert not_a_folder.read_bytes() == b"a file where the folder should be"
    assert "bundle cache" in caplog.text


def test_a_zero_cap_turns_the_cache_off(
    engine: Engine, world: World, signing_key: str, tmp_path: Path
) -> None:
    key = load_private_key(signing_key)
    assert bundle_cache(tmp_path, 0, key) is None
    cache = bundle_cache(tmp_path, 1, key)
    assert cache is not None
    with session_factory(engine)() as session:
        begin_snapshot(session)
        _bundle, hit = cached_bundle(session, world.ours, key, created_by="t", cache=cache)
    assert not hit


def test_records_export_uses_the_cache_and_sees_changes(
    engine: Engine,
    world: World,
    signing_key: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("TAKEDOWN_SIGNING_KEY", signing_key)
    monkeypatch.setenv("TAKEDOWN_BUNDLE_CACHE_DIR", str(folder))
    get_settings.cache_clear()
    try:
        outputs = []
        for number in range(3):
            out = tmp_path / f"bundle-{number}.zip"
            result = runner.invoke(
                app, ["records", "export", "--case", str(world.ours), "--out", str(out)]
            )
            assert result.exit_code == 0, result.output
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1] == outputs[2]
        assert list(folder.glob("*.zip"))
        with unit_of_work(engine) as session:
            session.execute(update(Case).where(Case.id == world.ours).values(escalation_level=2))
        out = tmp_path / "bundle-after.zip"
        result = runner.invoke(
            app, ["records", "export", "--case", str(world.ours), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert _case_json(out.read_bytes())["escalation_level"] == 2
        with session_factory(engine)() as session:
            exports = session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
            )
        assert exports == 4
    finally:
        get_settings.cache_clear()


def test_a_kept_bundle_is_only_for_whoever_may_still_see_the_case(
    live_server: LiveServer, engine: Engine, world: World
) -> None:
    for _ in range(3):  # the third from the cache
        assert _download(live_server, world.tokens["liz"], world.ours).status_code == 200
    assert _download(live_server, world.tokens["gus"], world.ours).status_code == 404
    with unit_of_work(engine) as session:  # the referral withdrawn: liz may no longer see it
        session.execute(delete(notice_cases).where(notice_cases.c.case_id == world.ours))
    assert _download(live_server, world.tokens["liz"], world.ours).status_code == 404
    assert _download(live_server, world.tokens["ana"], world.ours).status_code == 200
