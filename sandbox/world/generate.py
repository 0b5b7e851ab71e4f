"""Deterministic worlds of any size, from a handful of hosts to 100,000 URLs.

The same (seed, providers, urls) always gives the same world, so benchmarks and tests can
regenerate it instead of shipping large files. The result is a world-file mapping, loaded (and
checked) like any hand-written world.
"""

from __future__ import annotations

import random
from typing import Any

from sandbox.world.load import world_from_dict
from sandbox.world.model import World

MAX_BLOCKS = (256 - 16) * 256  # /24 blocks available in 127.16.0.0 - 127.255.255.0
URLS_PER_DOMAIN = 20
ADDRESSES_PER_PROVIDER = 4
FIRST_ASN = 4_200_000_000  # private-use 32-bit AS numbers (RFC 6996)

COUNTRIES = (
    # country, rir, tld suffix, languages
    ("BZ", "rir-lac", "bz", ("es", "en")),
    ("KY", "rir-na", "ky", ("en",)),
    ("GB", "rir-eu", "co.uk", ("en",)),
    ("NL", "rir-eu", "nl", ("nl",)),
    ("US", "rir-na", "com", ("en",)),
)
RIRS = [
    {
        "id": "rir-na",
        "name": "Example North American Number Registry",
        "style": "arin",
        "whois_server": "whois.rir-na.example",
    },
    {
        "id": "rir-eu",
        "name": "Example European Number Registry",
        "style": "ripe",
        "whois_server": "whois.rir-eu.example",
    },
    {
        "id": "rir-lac",
        "name": "Example Latin American and Caribbean Number Registry",
        "style": "lacnic",
        "whois_server": "whois.rir-lac.example",
    },
]
REGISTRIES = [
    {"tld": "bz", "name": "Example .bz Registry", "whois_server": "whois.registry-bz.example"},
    {
        "tld": "ky",
        "name": "Example .ky Registry",
        "whois_server": "whois.registry-ky.example",
        "rdap": False,
    },
    {
        "tld": "com",
        "name": "Example .com Registry",
        "whois_server": "whois.registry-com.example",
        "whois": "thin",
    },
    {
        "tld": "nl",
        "name": "Example .nl Registry",
        "whois_server": "whois.registry-nl.example",
        "layout": "sidn",
    },
    {
        "tld": "uk",
        "name": "Example .uk Registry",
        "whois_server": "whois.registry-uk.example",
        "layout": "nominet",
    },
]
PARTNERS = [
    {
        "code": "nl-hotline",
        "kind": "hotline",
        "name": "Example NL Hotline",
        "country": "NL",
        "email": "referrals@nl-hotline.example",
        "language": "nl",
    },
    {
        "code": "gb-police",
        "kind": "police",
        "name": "Example GB Police CSE Unit",
        "country": "GB",
        "email": "cse-referrals@police.example",
        "clears_before_host_notice": True,
    },
    {
        "code": "bz-police",
        "kind": "police",
        "name": "Example BZ Police Cybercrime Unit",
        "country": "BZ",
        "email": "cibercrimen@police-bz.example",
        "language": "es",
    },
]
HOTLINE = {
    "code": "gb-hotline",
    "name": "Example Hotline",
    "country": "GB",
    "from_address": "notices@hotline.example",
    "reply_to": "cases@hotline.example",
}


class GeneratorLimitError(ValueError):
    """The requested world does not fit the sandbox's address plan."""


def _block(i: int) -> str:
    return f"127.{16 + i // 256}.{i % 256}"


def _behaviour(rng: random.Random, provider: int, providers: int) -> dict[str, Any]:
    roll = rng.random()
    delay = rng.choice((2, 3, 5, 8, 13, 21))
    if roll < 0.6:
        return {"action": "remove", "delay": delay, "status": rng.choice((404, 410))}
    if roll < 0.7:
        return {"action": "reupload", "delay": delay, "reupload_after": 20}
    if roll < 0.8 and providers > 1:
        return {"action": "move", "delay": delay, "move_to": f"p{(provider + 1) % providers:05d}"}
    return {"action": "ignore"}


def generate_world_dict(seed: int, providers: int, urls: int) -> dict[str, Any]:
    """A world-file mapping with `providers` hosting providers and `urls` content URLs."""
    if providers < 1 or urls < 0:
        raise GeneratorLimitError("a world needs at least one provider")
    cdns = max(1, providers // 20)
    if providers + cdns > MAX_BLOCKS:
        raise GeneratorLimitError(f"at most {MAX_BLOCKS - MAX_BLOCKS // 21} providers fit")
    rng = random.Random(seed)
    provider_entries = []
    for i in range(providers):
        country, rir, _, languages = COUNTRIES[i % len(COUNTRIES)]
        provider_entries.append(
            {
                "id": f"p{i:05d}",
                "name": f"Provider {i:05d} Hosting",
                "asn": FIRST_ASN + i,
                "ranges": [f"{_block(i)}.0/24"],
                "country": country,
                "rir": rir,
                "abuse_email": f"abuse@p{i:05d}.example",
                "domain": f"p{i:05d}.example",
                "language": languages[i % len(languages)],
                "abuse_in": "remarks" if rng.random() < 0.1 else "record",
                "behaviour": _behaviour(rng, i, providers),
            }
        )
    cdn_entries = []
    for j in range(cdns):
        block = providers + j
        cdn_entries.append(
            {
                "id": f"cdn{j:03d}",
                "name": f"Edge Network {j:03d}",
                "asn": FIRST_ASN + block,
                "ranges": [f"{_block(block)}.0/24"],
                "country": "US",
                "rir": "rir-na",
                "abuse_email": f"abuse@cdn{j:03d}.example",
                "domain": f"cdn{j:03d}.example",
                "behaviour": {"action": "forward", "delay": 2},
            }
        )
    registrars = max(3, providers // 5)
    registrar_entries = [
        {
            "id": f"r{k:04d}",
            "name": f"Registrar {k:04d} Ltd",
            "iana_id": 10_000 + k,
            "whois_server": f"whois.r{k:04d}.example",
            "abuse_email": f"abuse@r{k:04d}.example",
            "behaviour": {"action": "suspend", "delay": 30} if k % 2 else {"action": "ignore"},
        }
        for k in range(registrars)
    ]
    domains = max(1, -(-urls // URLS_PER_DOMAIN))
    domain_entries, hostnames = [], {}
    for d in range(domains):
        p = d % providers
        suffix = COUNTRIES[p % len(COUNTRIES)][2]
        name = f"site{d:05d}.{suffix}"
        address = f"{_block(p)}.{10 + d % ADDRESSES_PER_PROVIDER}"
        entry: dict[str, Any] = {
            "name": name,
            "registrar": f"r{rng.randrange(registrars):04d}",
            "nameservers": [f"ns1.p{p:05d}.example", f"ns2.p{p:05d}.example"],
        }
        if rng.random() < 0.05:
            # Fronted by a CDN: the names point at the edge, the origin stays with the provider.
            cdn = d % cdns
            edge = f"d{d:05d}.edge.cdn{cdn:03d}.example"
            hostnames[edge] = {"a": [f"{_block(providers + cdn)}.{10 + d % 200}"]}
            entry["origin"] = f"p{p:05d}"
            entry["records"] = {
                "@": {"cname": edge},
                "files": {"cname": edge},
                "www": {"cname": edge},
            }
        else:
            entry["records"] = {
                "@": {"a": [address]},
                "files": {"a": [address]},
                "www": {"cname": f"files.{name}"},
            }
        if rng.random() < 0.005:
            entry["status"] = "servfail"
        domain_entries.append(entry)
    url_entries = []
    for u in range(urls):
        d = u % domains
        domain = domain_entries[d]["name"]
        host = ("files.", "www.", "")[u % 3] + domain
        url_entries.append({"url": f"http://{host}:8080/{u // domains}/{u:06d}.bin", "size": 2048})
    return {
        "version": 1,
        "name": f"generated-{seed}-{providers}-{urls}",
        "seed": seed,
        "content_port": 8080,
        "hotline": HOTLINE,
        "rirs": RIRS,
        "registries": REGISTRIES,
        "registrars": registrar_entries,
        "providers": provider_entries,
        "cdns": cdn_entries,
        "hostnames": hostnames,
        "domains": domain_entries,
        "urls": url_entries,
        "partners": PARTNERS,
    }


def generate_world(seed: int, providers: int, urls: int) -> World:
    """The generated world for (seed, providers, urls), loaded and checked."""
    return world_from_dict(generate_world_dict(seed, providers, urls), where="generated")


def parse_generate_spec(spec: str) -> tuple[int, int, int]:
    """Read the CLI's `SEED,PROVIDERS,URLS`."""
    try:
        seed, providers, urls = (int(part) for part in spec.split(","))
    except ValueError as error:
        raise GeneratorLimitError(f"{spec!r} is not SEED,PROVIDERS,URLS") from error
    return seed, providers, urls
