"""Files the sandbox writes for the engine: partner directory, confirmed reports, env settings."""

from __future__ import annotations

import csv
import hashlib
import ipaddress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from sandbox.world.model import Network, Registrar, World

REPORT_FIELDS = (
    "report_id",
    "url",
    "confirmed_at",
    "category",
    "source",
    "analyst",
    "content_sha256",
    "notes",
)
CATEGORIES = ("A", "B", "C", "baseline")
PORTAL_TLDS = {"bz": "bz", "ky": "ky"}  # reports for these TLDs come in through their portals
CONFIRMATION_SPACING = timedelta(seconds=7)


def directory_document(world: World) -> dict[str, Any]:
    """The partner directory (version 1) for `world`: the hotline, its partners, languages."""
    partners = []
    for partner in world.partners:
        entry: dict[str, Any] = {
            "code": partner.code,
            "kind": partner.kind,
            "name": partner.name,
            "country": partner.country,
            "email": partner.email,
            "language": partner.language,
        }
        if partner.clears_before_host_notice:
            entry["clears_before_host_notice"] = True
        partners.append(entry)
    languages: dict[str, str] = {}
    parties: list[Network | Registrar] = [*world.networks, *world.registrars]
    for party in parties:
        if party.language != "en":
            languages[party.abuse_email] = party.language
            languages[party.abuse_email.split("@", 1)[1]] = party.language
    hotline = world.hotline
    return {
        "version": 1,
        "hotline": {
            "code": hotline.code,
            "name": hotline.name,
            "country": hotline.country,
            "from_address": hotline.from_address,
            "reply_to": hotline.reply_to,
        },
        "partners": partners,
        "recipient_languages": languages,
        # The sandbox never sleeps: notices may go out at any hour so a demo runs at once.
        "sending": {"timezone": "UTC", "window": "00:00-24:00", "quiet_days": [], "holidays": []},
        "escalation": {
            "reminder_every": world.escalation.reminder_every,
            "escalate_after": world.escalation.escalate_after,
            "analyst_after": world.escalation.analyst_after,
        },
        "rules": [],
    }


def write_directory(world: World, path: Path) -> Path:
    """Write the partner directory YAML to `path`."""
    text = yaml.safe_dump(directory_document(world), sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def report_rows(world: World, content_port: int, confirmed_until: datetime) -> list[dict[str, str]]:
    """One confirmed report per URL of the world, deterministic for the world's seed; they
    were confirmed one after the other, the last one `CONFIRMATION_SPACING` before
    `confirmed_until`."""
    rows = []
    own_portal = world.hotline.country.lower()
    first = confirmed_until - CONFIRMATION_SPACING * len(world.urls)
    for number, url in enumerate(world.urls):
        digest = hashlib.sha256(f"{world.seed}:{url.key}".encode()).digest()
        tld = url.host.rsplit(".", 1)[-1]
        rows.append(
            {
                "report_id": f"SBX-{number + 1:06d}",
                "url": url.url(content_port),
                "confirmed_at": (first + CONFIRMATION_SPACING * number)
                .isoformat()
                .replace("+00:00", "Z"),
                "category": CATEGORIES[digest[0] % len(CATEGORIES)],
                "source": PORTAL_TLDS.get(tld, own_portal),
                "analyst": f"analyst-{digest[1] % 3 + 1}",
                "content_sha256": url.sha256,
                "notes": f"sandbox world {world.name}",
            }
        )
    return rows


def write_reports(
    world: World,
    content_port: int,
    path: Path,
    confirmed_until: datetime,
) -> Path:
    """Write the confirmed-reports CSV (intake format) to `path`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(report_rows(world, content_port, confirmed_until))
    return path


def served_networks(world: World) -> list[str]:
    """The world's address ranges, collapsed: what the engine's probe must be allowed to reach."""
    v4 = [r for n in world.networks for r in n.ranges if r.version == 4]
    v6 = [r for n in world.networks for r in n.ranges if r.version == 6]
    collapsed = list(ipaddress.collapse_addresses(v4)) + list(ipaddress.collapse_addresses(v6))
    return [str(network) for network in collapsed]


def write_env(settings: dict[str, str], path: Path) -> Path:
    """Write `settings` as a .env file (KEY=value lines)."""
    lines = ["# Settings that point the engine at a running sandbox; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
