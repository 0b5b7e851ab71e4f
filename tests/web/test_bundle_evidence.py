"""Bundles refuse altered evidence, and carry every answer's bytes exactly as received."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from hosting.trace import Evidence as Answer
from records.archive import MANIFEST, SIGNATURE, seal, verify
from records.bundle import EvidenceMismatch, build_bundle, verify_bundle
from records.signing import load_private_key, public_key_pem
from registry.db import unit_of_work
from registry.models import AuditEntry, Evidence, Resolution
from registry.tracing.store import evidence_text
from settings import get_settings
from takedown.cli import app
from tests.web.client import signed_in
from tests.web.conftest import LiveServer
from tests.web.seed import World

runner = CliRunner()
DNS_WIRE = bytes.fromhex("abcd81800001000100000000076578616d706c6502627a0000010001c00c00010001")
LATIN1_WHOIS = "Organización: Ejemplo S.A.\r\nnetname: EJEMPLO\r\n".encode("latin-1")


def _evidence_ids(engine: Engine, case_id: int) -> list[int]:
    with unit_of_work(engine) as session:
        return list(
            session.scalars(
                select(Evidence.id)
                .join(Resolution, Resolution.id == Evidence.resolution_id)
                .where(Resolution.case_id == case_id)
                .order_by(Evidence.id)
            )
        )


def _alter(engine: Engine, evidence_id: int) -> None:
    with unit_of_work(engine) as session:
        session.execute(
            update(Evidence).where(Evidence.id == evidence_id).values(raw="netname: SOMEONE-ELSE\n")
        )


def _add_answers(engine: Engine, case_id: int) -> list[int]:
    """A DNS answer in wire format and a WHOIS answer in Latin-1, stored as tracing stores them."""
    ids = []
    with unit_of_work(engine) as session:
        resolution_id = session.scalars(
            select(Resolution.id).where(Resolution.case_id == case_id)
        ).first()
        assert resolution_id is not None
        for kind, raw in (("dns", DNS_WIRE), ("whois", LATIN1_WHOIS)):
            answer = Answer.capture(kind, "192.0.2.53", "example.bz", raw, at=datetime.now(UTC))
            row = Evidence(
                resolution_id=resolution_id,
                kind=kind,
                server=answer.server,
                query=answer.query,
                at=answer.at,
                sha256=answer.sha256,
                raw=evidence_text(answer),
                truncated=False,
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def test_altered_evidence_stops_the_export_naming_the_item(
    engine: Engine, world: World, signing_key: str
) -> None:
    altered = _evidence_ids(engine, world.ours)[0]
    _alter(engine, altered)
    with unit_of_work(engine) as session, pytest.raises(EvidenceMismatch) as refused:
        build_bundle(session, world.ours, load_private_key(signing_key), created_by="ana")
    message = str(refused.value)
    assert message.startswith(f"{world.reference(world.ours)}: refused to sign")
    assert f"evidence {altered} of resolution" in message
    assert "no longer matches the SHA-256 recorded when it was captured" in message
    with unit_of_work(engine) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.action == "export_refused"
    assert entry.subject == world.reference(world.ours) and entry.actor == "ana"
    assert entry.detail["altered_evidence"] == [altered]


def test_the_web_and_the_cli_refuse_a_bundle_of_altered_evidence(
    live_server: LiveServer,
    engine: Engine,
    world: World,
    signing_key: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    altered = _evidence_ids(engine, world.ours)[0]
    _alter(engine, altered)
    with signed_in(live_server.url, "liz") as liz:
        page = liz.get(f"/cases/{world.ours}/bundle")
    assert page.status_code == 409 and f"evidence {altered}" in page.text
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("TAKEDOWN_SIGNING_KEY", signing_key)
    get_settings.cache_clear()  # the refusal's audit entry read the settings before
    out = tmp_path / "bundle.zip"
    result = runner.invoke(app, ["records", "export", "--case", str(world.ours), "--out", str(out)])
    assert result.exit_code == 2 and f"evidence {altered} of resolution" in result.stderr
    assert not out.exists()


def test_answers_go_in_as_the_bytes_received(
    engine: Engine, world: World, signing_key: str
) -> None:
    dns_id, whois_id = _add_answers(engine, world.ours)
    key = load_private_key(signing_key)
    with unit_of_work(engine) as session:
        data = build_bundle(session, world.ours, key, created_by="test").data
    assert verify_bundle(data, key.public_key()).ok
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        dns = next(n for n in names if f"/evidence-{dns_id}-dns" in n)
        whois = next(n for n in names if f"/evidence-{whois_id}-whois" in n)
        assert dns.endswith(".bin") and archive.read(dns) == DNS_WIRE
        assert whois.endswith(".bin") and archive.read(whois) == LATIN1_WHOIS
        index = {
            entry["file"]: entry
            for name in names
            if name.endswith(".json") and name.startswith("resolutions/")
            for entry in json.loads(archive.read(name))["evidence"]
        }
        manifest = {f["path"]: f["sha256"] for f in json.loads(archive.read(MANIFEST))["files"]}
    for path, entry in index.items():
        assert entry["sha256"] == entry["file_sha256"] == manifest[path], path
    assert index[dns]["sha256"] == hashlib.sha256(DNS_WIRE).hexdigest()


def test_records_verify_flags_evidence_that_differs_from_its_capture_hash(
    engine: Engine, world: World, signing_key: str, tmp_path: Path
) -> None:
    """A bundle signed over evidence that no longer matches its capture hash (as an earlier
    version could make) fails, though its manifest and signature are consistent."""
    key = load_private_key(signing_key)
    with unit_of_work(engine) as session:
        data = build_bundle(session, world.ours, key, created_by="test").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        kept = [name for name in archive.namelist() if name not in (MANIFEST, SIGNATURE)]
        files = [(name, archive.read(name)) for name in kept]
    target = next(name for name, _ in files if "/evidence-" in name)
    files = [(n, b"netname: SOMEONE-ELSE\n" if n == target else d) for n, d in files]
    header = {k: manifest[k] for k in ("case", "created_at", "created_by")}
    resealed = seal(files, header, key)
    assert verify(resealed, key.public_key()).ok  # consistent with its own manifest
    check = verify_bundle(resealed, key.public_key())
    assert not check.ok
    assert check.problems[0].startswith(f"{target}: its bytes differ from the SHA-256 taken")
    bundle = tmp_path / "resealed.zip"
    bundle.write_bytes(resealed)
    public = tmp_path / "key.pem"
    public.write_bytes(public_key_pem(key))
    result = runner.invoke(app, ["records", "verify", str(bundle), "--public-key", str(public)])
    assert result.exit_code == 1 and result.stderr.startswith(f"FAILED: {target}: its bytes")
