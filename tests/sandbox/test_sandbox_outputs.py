"""The files the sandbox writes for the engine follow the shared contracts."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from sandbox.testing import ManualClock, SandboxHandle, running_sandbox
from sandbox.world.model import World

DIRECTORY_KEYS = {
    "version",
    "hotline",
    "partners",
    "recipient_languages",
    "sending",
    "escalation",
    "rules",
}
PARTNER_KEYS = {"code", "kind", "name", "country", "email", "language", "clears_before_host_notice"}
ENV_KEYS = {
    "TAKEDOWN_DNS_NAMESERVERS",
    "TAKEDOWN_WHOIS_SERVERS",
    "TAKEDOWN_RDAP_BOOTSTRAP_DIR",
    "TAKEDOWN_SMTP_URL",
    "TAKEDOWN_PROBE_ALLOWED_NETWORKS",
    "TAKEDOWN_DIRECTORY",
    "TAKEDOWN_INBOX_URL",
    "TAKEDOWN_SANDBOX_REPORTS",
    "TAKEDOWN_SANDBOX_INSPECT",
}


def test_env_names_every_setting(served: SandboxHandle) -> None:
    env = served.env
    assert set(env) == ENV_KEYS
    assert env["TAKEDOWN_SMTP_URL"] == f"smtp://127.0.0.1:{served.ports.smtp}"
    assert "127.16.0.0/13" in env["TAKEDOWN_PROBE_ALLOWED_NETWORKS"].split(",")
    assert "127.0.0.1" not in env["TAKEDOWN_PROBE_ALLOWED_NETWORKS"]
    # The world's replies land in a Maildir the engine reads as its inbox.
    inbox = Path(env["TAKEDOWN_INBOX_URL"].removeprefix("maildir://"))
    assert env["TAKEDOWN_INBOX_URL"].startswith("maildir:///") and (inbox / "new").is_dir()


def test_directory_follows_version_1(served: SandboxHandle) -> None:
    document = yaml.safe_load(Path(served.env["TAKEDOWN_DIRECTORY"]).read_text())
    assert set(document) == DIRECTORY_KEYS
    assert document["version"] == 1
    assert document["hotline"]["country"] == "GB"
    for partner in document["partners"]:
        assert set(partner) <= PARTNER_KEYS
        assert re.fullmatch(r"[a-z0-9-]+", partner["code"])
        assert partner["kind"] in ("hotline", "police")
        assert re.fullmatch(r"[A-Z]{2}", partner["country"])
    police = {p["code"]: p for p in document["partners"]}["gb-police"]
    assert police["clears_before_host_notice"] is True
    assert document["recipient_languages"]["abuse@hostingbz.example"] == "es"
    assert document["recipient_languages"]["hostingbz.example"] == "es"
    assert "abuse@belizenet.example" not in document["recipient_languages"]
    assert re.fullmatch(r"\d+[smhd]", document["escalation"]["escalate_after"])


def test_reports_csv_lists_every_url_in_the_intake_format(served: SandboxHandle) -> None:
    with Path(served.env["TAKEDOWN_SANDBOX_REPORTS"]).open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == [
        "report_id",
        "url",
        "confirmed_at",
        "category",
        "source",
        "analyst",
        "content_sha256",
        "notes",
    ]
    assert [r["url"] for r in rows] == served.urls
    assert {r["category"] for r in rows} <= {"A", "B", "C", "baseline"}
    assert len({r["report_id"] for r in rows}) == len(rows)
    by_url = {r["url"]: r for r in rows}
    assert by_url[served.url("dl.cayman-share.ky/f/4001.bin")]["source"] == "ky"
    assert by_url[served.url("files.example-host.bz/a/1001.bin")]["source"] == "bz"
    digests = {u.url(served.ports.content): u.sha256 for u in served.world.urls}
    assert all(r["content_sha256"] == digests[r["url"]] for r in rows)
    assert all(r["confirmed_at"].endswith("Z") for r in rows)


def test_reports_were_confirmed_just_before_the_world_started(
    example_world: World, tmp_path: Path
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    with running_sandbox(example_world, clock=clock, workdir=tmp_path):
        pass
    with (tmp_path / "reports.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    started = datetime.fromtimestamp(clock(), UTC)
    confirmed = [datetime.fromisoformat(r["confirmed_at"].replace("Z", "+00:00")) for r in rows]
    assert confirmed == sorted(confirmed)
    assert confirmed[-1] == started - timedelta(seconds=7)
    assert confirmed[0] == started - timedelta(seconds=7 * len(rows))
