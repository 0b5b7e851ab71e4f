"""Evidence bundles: complete, signed, and any changed byte is caught and named."""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from records.archive import MANIFEST, seal, verify
from records.bundle import build_bundle
from records.pdf import notice_pdf
from records.signing import load_private_key, new_private_key, public_key_pem
from registry.db import unit_of_work
from registry.models import AuditEntry
from takedown.cli import app
from tests.web.seed import AGENCY, World

runner = CliRunner()


def make_bundle(engine: Engine, case_id: int, key_text: str) -> bytes:
    with unit_of_work(engine) as session:
        return build_bundle(session, case_id, load_private_key(key_text), created_by="test").data


def test_a_bundle_holds_every_record_and_verifies(
    engine: Engine, world: World, signing_key: str
) -> None:
    data = make_bundle(engine, world.ours, signing_key)
    key = load_private_key(signing_key)
    check = verify(data, key.public_key())
    assert check.ok, check.problems
    assert check.case_reference == world.reference(world.ours)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST))
        listed = {f["path"] for f in manifest["files"]}
        assert names == listed | {MANIFEST, "manifest.sig"}
        eml = next(n for n in names if n.endswith(".eml"))
        assert archive.read(eml).startswith(b"From: notices@hotline.example")
        pdf = next(n for n in names if n.endswith(".pdf"))
        assert archive.read(pdf).startswith(b"%PDF-")
        assert any(n.endswith(".xarf.json") for n in names)
        evidence = [n for n in names if "/evidence-" in n]
        assert evidence and b"netname: EXAMPLE-NET" in archive.read(evidence[0])
        case = json.loads(archive.read("case.json"))
        assert case["notices"][0]["partner_code"] == AGENCY
        assert case["notices"][0]["reason"].startswith("hosted in a country")
        timeline = list(csv.DictReader(io.StringIO(archive.read("timeline.csv").decode())))
        assert [row["type"] for row in timeline] == ["event", "event", "check"]
        assert timeline[2]["outcome"] == "present"


def test_every_changed_byte_fails_and_names_the_file(
    engine: Engine, world: World, signing_key: str
) -> None:
    data = make_bundle(engine, world.ours, signing_key)
    public = load_private_key(signing_key).public_key()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(i.filename, i.header_offset, i.file_size) for i in archive.infolist()]
    for name, offset, size in members:
        # A byte in the middle of the member's contents (30-byte header plus its name first).
        start = offset + 30 + len(name)
        position = start + size // 2
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        check = verify(bytes(tampered), public)
        assert not check.ok, name
        assert any(name in problem for problem in check.problems), (name, check.problems)
        # And a byte of its header (the modification time, which no digest covers).
        tampered = bytearray(data)
        tampered[offset + 10] ^= 0x01
        check = verify(bytes(tampered), public)
        assert not check.ok and any(name in p for p in check.problems), (name, check.problems)
    # A sample of every other position, the central directory included.
    for position in range(0, len(data), max(1, len(data) // 200)):
        tampered = bytearray(data)
        tampered[position] ^= 0x80
        assert not verify(bytes(tampered), public).ok, position


def test_another_key_does_not_verify(engine: Engine, world: World, signing_key: str) -> None:
    data = make_bundle(engine, world.ours, signing_key)
    stranger = load_private_key(new_private_key()).public_key()
    check = verify(data, stranger)
    assert not check.ok and "manifest.json: the signature does not match" in check.problems[0]


class _CountingHandler(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 (one server per test)

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_pdf_never_fetches_what_the_html_points_at() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        message = EmailMessage()
        message["Subject"] = "x"
        message.set_content("plain")
        message.add_alternative(
            f"<html><head><link rel='stylesheet' href='{base}/style.css'></head><body>"
            f"<p>Notice</p><img src='{base}/pixel.png'>"
            f"<div style=\"background: url('{base}/bg.png')\">x</div></body></html>",
            subtype="html",
        )
        pdf = notice_pdf(message.as_string())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert pdf.startswith(b"%PDF-")
    assert _CountingHandler.hits == []


def test_cli_export_verify_and_partner_export_are_audited(
    engine: Engine,
    world: World,
    signing_key: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("TAKEDOWN_SIGNING_KEY", signing_key)
    out = tmp_path / "bundle.zip"
    result = runner.invoke(app, ["records", "export", "--case", str(world.ours), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    verified = runner.invoke(app, ["records", "verify", str(out)])
    assert verified.exit_code == 0 and verified.stdout.startswith("OK: TD-")
    # Verification with only the published public key.
    public = tmp_path / "key.pem"
    public.write_bytes(public_key_pem(load_private_key(signing_key)))
    monkeypatch.delenv("TAKEDOWN_SIGNING_KEY")
    assert (
        runner.invoke(app, ["records", "verify", str(out), "--public-key", str(public)]).exit_code
        == 0
    )
    data = bytearray(out.read_bytes())
    data[data.index(b"netname: EXAMPLE-NET")] ^= 0x20
    out.write_bytes(bytes(data))
    broken = runner.invoke(app, ["records", "verify", str(out), "--public-key", str(public)])
    assert broken.exit_code == 1
    assert broken.stderr.startswith("FAILED: resolutions/resolution-")
    assert "evidence-" in broken.stderr and "network-whois.txt" in broken.stderr

    csv_out = tmp_path / "referrals.csv"
    exported = runner.invoke(
        app,
        [
            "records",
            "partner-export",
            "--partner",
            AGENCY,
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-02",
            "--out",
            str(csv_out),
        ],
    )
    assert exported.exit_code == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text())))
    assert [r["case_references"] for r in rows] == [world.reference(world.ours)]
    assert rows[0]["display_urls"].startswith("hxxp://")
    outside = runner.invoke(
        app,
        [
            "records",
            "partner-export",
            "--partner",
            AGENCY,
            "--since",
            "2026-03-03",
            "--until",
            "2026-03-04",
            "--out",
            str(csv_out),
        ],
    )
    assert outside.exit_code == 0 and "0 notices" in outside.stdout
    with unit_of_work(engine) as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.subject) for e in entries] == [
            ("export", world.reference(world.ours)),
            ("export", f"partner:{AGENCY}"),
            ("export", f"partner:{AGENCY}"),
        ]


def test_no_single_bit_flip_anywhere_goes_unnoticed() -> None:
    key = load_private_key(new_private_key())
    files = [
        ("case.json", b'{"reference": "TD-000001"}\n'),
        ("notices/notice-1.eml", b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n" * 5),
        ("timeline.csv", b"at,type\r\n2026-01-01T00:00:00+00:00,event\r\n"),
    ]
    data = seal(files, {"case": {"id": 1, "reference": "TD-000001"}}, key)
    assert verify(data, key.public_key()).ok
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        assert not verify(bytes(tampered), key.public_key()).ok, position
