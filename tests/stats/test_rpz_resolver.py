"""The RPZ file loads in real DNS software and blocks what it should, and nothing else."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import dns.rcode
import pytest
from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.reporting.blocklist import (
    BlocklistFormat,
    mark_domain,
    render_blocklist,
    unmark_domain,
)
from tests.stats.unbound import NSD_CHECKZONE, UNBOUND, rcode_of, running_unbound

ZONE = "rpz.hotline.test."
NAMES = {
    "fine.example": "192.0.2.10",
    "abusive.example": "192.0.2.66",
    "www.abusive.example": "192.0.2.67",
    "deep.cdn.abusive.example": "192.0.2.68",
    "notabusive.example": "192.0.2.11",
    "forgiven.example": "192.0.2.12",
}


def write_zone(engine: Engine, folder: Path) -> Path:
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with unit_of_work(engine) as session:
        mark_domain(session, "Abusive.Example", reason="dedicated", actor="ana", now=when)
        mark_domain(session, "forgiven.example", reason="mistake", actor="ana", now=when)
        unmark_domain(session, "forgiven.example", actor="bo")
        text = render_blocklist(session, BlocklistFormat.RPZ, zone=ZONE)
    path = folder / "takedown.rpz"
    path.write_text(text)
    return path


@pytest.mark.skipif(NSD_CHECKZONE is None, reason="nsd-checkzone (Debian: nsd) is not installed")
def test_nsd_checkzone_accepts_the_zone(engine: Engine, tmp_path: Path) -> None:
    assert NSD_CHECKZONE is not None
    zone_file = write_zone(engine, tmp_path)
    checked = subprocess.run(
        [NSD_CHECKZONE, ZONE.rstrip("."), str(zone_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is ok" in checked.stdout


@pytest.mark.skipif(UNBOUND is None, reason="unbound (Debian: unbound) is not installed")
def test_unbound_answers_nxdomain_for_marked_domains_and_their_subdomains(
    engine: Engine, tmp_path: Path
) -> None:
    zone_file = write_zone(engine, tmp_path)
    with running_unbound(tmp_path, zone_file, ZONE, NAMES) as port:
        # Every one of these exists in the resolver's data; the policy zone hides them.
        assert rcode_of(port, "abusive.example") == dns.rcode.NXDOMAIN
        assert rcode_of(port, "www.abusive.example") == dns.rcode.NXDOMAIN
        assert rcode_of(port, "deep.cdn.abusive.example") == dns.rcode.NXDOMAIN
        # Names not under a marked domain, or whose mark was removed, resolve as usual.
        assert rcode_of(port, "fine.example") == dns.rcode.NOERROR
        assert rcode_of(port, "notabusive.example") == dns.rcode.NOERROR
        assert rcode_of(port, "forgiven.example") == dns.rcode.NOERROR
