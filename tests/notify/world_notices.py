"""Which mails the example world's URLs call for, worked out from the world model and the
partner directory the sandbox writes for it, by the rules of the directory's documentation
(not by the routing code under test)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from notices.render import TEMPLATES_DIR
from sandbox.outputs import directory_document
from sandbox.world.model import Domain, Network, World

TEMPLATE_LANGUAGES = frozenset(p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir())


@dataclass(frozen=True)
class ExpectedMail:
    """One mail: to whom, in which language, about which URLs, and whether X-ARF is attached."""

    to: str
    language: str
    urls: frozenset[str]
    xarf: bool


def domain_of(world: World, host: str) -> Domain:
    """The world's domain ``host`` is under."""
    return next(d for d in world.domains if host == d.name or host.endswith("." + d.name))


def serving_network(world: World, host: str) -> Network | None:
    """The network that answers for ``host`` (None when its domain's DNS fails)."""
    domain = domain_of(world, host)
    if domain.status != "active":
        return None
    name = host
    for _ in range(10):
        records = next((d.records[name] for d in world.domains if name in d.records), None)
        records = records or world.hostnames[name]
        if records.cname is None:
            address = ipaddress.ip_address(records.a[0])
            return next(n for n in world.networks if any(address in r for r in n.ranges))
        name = records.cname.rstrip(".")
    raise AssertionError(f"CNAME loop at {host}")


def _language(document: dict[str, Any], address: str) -> str:
    languages = document["recipient_languages"]
    wanted = languages.get(address) or languages.get(address.rpartition("@")[2]) or "en"
    return wanted if wanted in TEMPLATE_LANGUAGES else "en"


def expected_mails(world: World, urls: list[str]) -> tuple[set[ExpectedMail], set[str]]:
    """The mails the first round sends for ``urls`` (served URLs; the registrar's for a domain
    whose host cannot be traced), and the URLs whose host notice is held until the police clear
    them."""
    document = directory_document(world)
    own = document["hotline"]["country"]
    partners = document["partners"]

    def partner(kind: str, country: str) -> dict[str, Any] | None:
        return next((p for p in partners if p["kind"] == kind and p["country"] == country), None)

    wanted: dict[tuple[str, str, bool], set[str]] = defaultdict(set)
    held: set[str] = set()
    for url in urls:
        host = (urlsplit(url).hostname or "").lower()
        network = serving_network(world, host)
        if network is None:
            # The host cannot be traced: the domain's registrar is asked to suspend it.
            registrar = next(
                r for r in world.registrars if r.id == domain_of(world, host).registrar
            )
            address = registrar.abuse_email
            wanted[(address, _language(document, address), True)].add(url)
            continue
        if network.is_cdn:
            wanted[(network.abuse_email, _language(document, network.abuse_email), True)].add(url)
            continue
        hotline = None if network.country == own else partner("hotline", network.country)
        police = partner("police", network.country)
        if hotline is not None:
            wanted[(hotline["email"], _lang(hotline), False)].add(url)
            continue
        if police is not None:
            wanted[(police["email"], _lang(police), False)].add(url)
        if police is not None and police.get("clears_before_host_notice"):
            held.add(url)
        else:
            wanted[(network.abuse_email, _language(document, network.abuse_email), True)].add(url)
    mails = {
        ExpectedMail(to, lang, frozenset(found), xarf) for (to, lang, xarf), found in wanted.items()
    }
    return mails, held


def _lang(partner: dict[str, Any]) -> str:
    language = str(partner.get("language", "en"))
    return language if language in TEMPLATE_LANGUAGES else "en"
