"""The RDAP bootstrap folder (RFC 9224) that points a client at the sandbox's RDAP server."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sandbox.servers.rdap import RdapService

PUBLICATION = "2026-01-01T00:00:00Z"


def _file(description: str, services: list[list[list[str]]]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "publication": PUBLICATION,
        "description": description,
        "services": services,
    }


def bootstrap_files(service: RdapService) -> dict[str, dict[str, Any]]:
    """The four bootstrap registries (`dns.json`, `ipv4.json`, `ipv6.json`, `asn.json`)."""
    index = service.state.index
    dns = [
        [[registry.tld], [service.registry_base(registry.tld)]]
        for registry in index.world.registries
        if registry.rdap  # a TLD without RDAP is left out, so clients fall back to WHOIS
    ]
    by_version: dict[int, dict[str, list[str]]] = {4: defaultdict(list), 6: defaultdict(list)}
    asns: dict[str, list[str]] = defaultdict(list)
    for network in index.world.networks:
        for prefix in network.ranges:
            by_version[prefix.version][network.rir].append(str(prefix))
        asns[network.rir].append(f"{network.asn}-{network.asn}")

    def services(entries: dict[str, list[str]]) -> list[list[list[str]]]:
        return [[sorted(keys), [service.rir_base(rir)]] for rir, keys in sorted(entries.items())]

    note = f"Sandbox world {index.world.name!r}."
    return {
        "dns.json": _file(f"RDAP bootstrap file for Domain Name System registrations. {note}", dns),
        "ipv4.json": _file(
            f"RDAP bootstrap file for IPv4 address allocations. {note}", services(by_version[4])
        ),
        "ipv6.json": _file(
            f"RDAP bootstrap file for IPv6 address allocations. {note}", services(by_version[6])
        ),
        "asn.json": _file(
            f"RDAP bootstrap file for Autonomous System Number allocations. {note}", services(asns)
        ),
    }


def write_bootstrap(service: RdapService, folder: Path) -> Path:
    """Write the bootstrap files into `folder` (created if needed) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in bootstrap_files(service).items():
        (folder / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return folder
