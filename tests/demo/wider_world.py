"""A test world: the example world plus what the real internet has and the example lacks.

Two ccTLD registries that print no abuse desk, only the registrar's general contact (AFNIC's
layout for .fr, the .nz registry's for .co.nz), each with a domain on the host that ignores every
notice; and a host reachable over IPv6 only (an AAAA record and no A, on ::1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sandbox.testing import EXAMPLE_WORLD

FR_CONTACT = "support@noms-de-france.example"
NZ_CONTACT = "help@kiwi-names.example"
FR_URL = "http://partage.fichiers-partages.fr:8080/f/10001.bin"
NZ_URL = "http://files.kiwi-share.co.nz:8080/k/11001.bin"
V6_URL = "http://files.v6-only.bz:8080/v/12001.bin"
V6_ABUSE = "abuse@sixnet.example"


def wider_world(folder: Path) -> Path:
    """Write the world to ``folder`` and return its path."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_WORLD.read_text("utf-8"))
    data["name"] = "wider"
    data["registries"] += [
        # No RDAP: the registry's WHOIS is all there is, as for many ccTLDs.
        {
            "tld": "fr",
            "name": "Example .fr Registry",
            "whois_server": "whois.registry-fr.example",
            "whois": "thick",
            "rdap": False,
            "layout": "afnic",
        },
        {
            "tld": "nz",
            "name": "Example .nz Registry",
            "whois_server": "whois.registry-nz.example",
            "whois": "thick",
            "rdap": False,
            "layout": "nz",
        },
    ]
    data["registrars"] += [
        {
            "id": "registrar-fr",
            "name": "Noms de France SAS",
            "iana_id": 9010,
            "whois_server": "whois.noms-de-france.example",
            "abuse_email": "abus@noms-de-france.example",
            "email": FR_CONTACT,
            "country": "FR",
            "language": "fr",
        },
        {
            "id": "registrar-nz",
            "name": "Kiwi Names Limited",
            "iana_id": 9011,
            "whois_server": "whois.kiwi-names.example",
            "abuse_email": "abuse@kiwi-names.example",
            "email": NZ_CONTACT,
            "country": "NZ",
        },
    ]
    data["domains"] += [
        {
            "name": "fichiers-partages.fr",
            "registrar": "registrar-fr",
            "nameservers": ["ns1.quietharbor.example"],
            "records": {"partage": {"a": ["127.22.0.11"]}},
        },
        {
            "name": "kiwi-share.co.nz",
            "registrar": "registrar-nz",
            "nameservers": ["ns1.quietharbor.example"],
            "records": {"files": {"a": ["127.22.0.12"]}},
        },
    ]
    data["providers"].append(
        {
            "id": "sixnet",
            "name": "SixNet Hosting B.V.",
            "asn": 64509,
            "ranges": ["::1/128"],
            "country": "NL",
            "rir": "rir-eu",
            "abuse_email": V6_ABUSE,
            "domain": "sixnet.example",
            "behaviour": {"action": "remove", "delay": 5, "status": 404},
        }
    )
    data["domains"].append(
        {
            "name": "v6-only.bz",
            "registrar": "registrar-bz",
            "nameservers": ["ns1.sixnet.example"],
            "records": {"files": {"aaaa": ["::1"]}},
        }
    )
    data["urls"] += [
        {"url": FR_URL, "size": 4096},
        {"url": NZ_URL, "size": 4096},
        {"url": V6_URL, "size": 4096},
    ]
    path = folder / "wider.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path
