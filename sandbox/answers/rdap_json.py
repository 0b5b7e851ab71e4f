"""RDAP objects (RFC 9083) for the world, nested the way real servers nest them.

gTLD-style domains put the abuse entity inside the registrar entity (ICANN's response
profile); a thin registry's domain names only the registrar and links to the registrar's own
RDAP. ARIN- and LACNIC-style networks nest abuse under the registrant; RIPE-style ones put it
at the top level; a holder with `abuse_in: remarks` has its abuse address only in `remarks`.
"""

from __future__ import annotations

from typing import Any

from sandbox.answers.whois_ip import net_handle
from sandbox.world.index import Allocation, org_handle
from sandbox.world.model import Domain, Network, Registrar, Registry, Rir

JSON = dict[str, Any]
CONFORMANCE = ["rdap_level_0"]
GTLD_CONFORMANCE = [
    "rdap_level_0",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
]
TERMS = {
    "title": "Terms of Use",
    "description": ["This registry answers for a simulated world only."],
}


def vcard(
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    country: str | None = None,
    kind: str = "org",
) -> list[Any]:
    """A jCard (RFC 7095) with the fields registries fill in."""
    properties: list[Any] = [
        ["version", {}, "text", "4.0"],
        ["kind", {}, "text", kind],
        ["fn", {}, "text", name],
    ]
    if email:
        properties.append(["email", {}, "text", email])
    if phone:
        properties.append(["tel", {"type": ["voice"]}, "uri", f"tel:{phone}"])
    if country:
        properties.append(["adr", {"cc": country}, "text", ["", "", "", "", "", "", ""]])
    return ["vcard", properties]


def _link(base: str, kind: str, key: str, rel: str = "self") -> JSON:
    href = f"{base}{kind}/{key}"
    return {"value": href, "rel": rel, "href": href, "type": "application/rdap+json"}


def registrar_entity(registrar: Registrar, *, with_abuse: bool) -> JSON:
    """The registrar entity of a domain; the abuse entity nested inside it (ICANN profile)."""
    entity: JSON = {
        "objectClassName": "entity",
        "handle": str(registrar.iana_id),
        "roles": ["registrar"],
        "publicIds": [{"type": "IANA Registrar ID", "identifier": str(registrar.iana_id)}],
        "vcardArray": vcard(registrar.name, country=registrar.country),
    }
    if with_abuse:
        entity["entities"] = [
            {
                "objectClassName": "entity",
                "handle": f"ABUSE-{registrar.iana_id}",
                "roles": ["abuse"],
                "vcardArray": vcard(
                    "Abuse Contact",
                    email=registrar.abuse_email,
                    phone=registrar.abuse_phone,
                    kind="group",
                ),
            }
        ]
    return entity


def domain_object(
    domain: Domain,
    registrar: Registrar,
    base: str,
    *,
    registry: Registry | None,
    registrar_base: str | None,
    suspended: bool,
) -> JSON:
    """A domain object as `registry` serves it, or as the registrar does (`registry` None)."""
    thin = registry is not None and registry.whois == "thin"
    links = [_link(base, "domain", domain.name)]
    if thin and registrar_base:
        links.append(_link(registrar_base, "domain", domain.name, rel="related"))
    return {
        "objectClassName": "domain",
        "rdapConformance": GTLD_CONFORMANCE,
        "handle": f"{domain.name.upper().replace('.', '_')}-{domain.tld.upper()}",
        "ldhName": domain.name,
        "status": ["client hold"] if suspended else ["active", "client transfer prohibited"],
        "events": [
            {"eventAction": "registration", "eventDate": domain.created},
            {"eventAction": "expiration", "eventDate": "2027-03-04T10:00:00Z"},
            {"eventAction": "last changed", "eventDate": "2025-11-02T08:15:00Z"},
        ],
        "nameservers": [
            {"objectClassName": "nameserver", "ldhName": ns} for ns in domain.nameservers
        ],
        "secureDNS": {"delegationSigned": False},
        "entities": [registrar_entity(registrar, with_abuse=not thin)],
        "links": links,
        "notices": [TERMS],
    }


def holder_entities(holder: Network, style: str) -> tuple[list[JSON], list[JSON]]:
    """The entities and remarks of a network or AS of `holder`, nested in `style`."""
    org = org_handle(holder)
    registrant: JSON = {
        "objectClassName": "entity",
        "handle": org,
        "roles": ["registrant"],
        "vcardArray": vcard(holder.name, country=holder.country),
    }
    if holder.abuse_in == "remarks":
        remarks = [
            {
                "title": "remarks",
                "description": [f"Please send abuse notification to {holder.abuse_email}"],
            }
        ]
        return [registrant], remarks
    abuse: JSON = {
        "objectClassName": "entity",
        "handle": f"ABUSE-{org}",
        "roles": ["abuse"],
        "vcardArray": vcard(f"Abuse Desk {holder.name}", email=holder.abuse_email, kind="group"),
    }
    also: list[JSON] = []
    if holder.also_email:
        text = f"Abuse reports may also be sent to {holder.also_email}"
        also = [{"title": "remarks", "description": [text]}]
    if style == "ripe":
        return [registrant, abuse], also
    registrant["entities"] = [abuse]
    return [registrant], also


def ip_network_object(allocation: Allocation, rir: Rir, base: str) -> JSON:
    """An ip network object for one world range."""
    net = allocation.network
    entities, remarks = holder_entities(allocation.holder, rir.style)
    obj: JSON = {
        "objectClassName": "ip network",
        "rdapConformance": CONFORMANCE,
        "handle": net_handle(allocation),
        "startAddress": str(net.network_address),
        "endAddress": str(net.broadcast_address),
        "ipVersion": f"v{net.version}",
        "name": f"{org_handle(allocation.holder)}-NET",
        "type": "ASSIGNED PA" if rir.style == "ripe" else "DIRECT ALLOCATION",
        "country": allocation.holder.country,
        "cidr0_cidrs": [
            {
                "v4prefix" if net.version == 4 else "v6prefix": str(net.network_address),
                "length": net.prefixlen,
            }
        ],
        "entities": entities,
        "links": [_link(base, "ip", str(net))],
        "notices": [TERMS],
    }
    if rir.style == "arin":
        # ARIN's RDAP names the origin AS of a network (its "arin_originas0" extension).
        obj["rdapConformance"] = [*CONFORMANCE, "arin_originas0"]
        obj["arin_originas0_originautnums"] = [allocation.holder.asn]
    if remarks:
        obj["remarks"] = remarks
    return obj


def autnum_object(holder: Network, rir: Rir, base: str) -> JSON:
    """An autnum object for a holder's AS number."""
    entities, remarks = holder_entities(holder, rir.style)
    obj: JSON = {
        "objectClassName": "autnum",
        "rdapConformance": CONFORMANCE,
        "handle": f"AS{holder.asn}",
        "startAutnum": holder.asn,
        "endAutnum": holder.asn,
        "name": org_handle(holder),
        "type": "DIRECT ALLOCATION",
        "country": holder.country,
        "entities": entities,
        "links": [_link(base, "autnum", str(holder.asn))],
        "notices": [TERMS],
    }
    if remarks:
        obj["remarks"] = remarks
    return obj


def error_object(code: int, title: str, description: str) -> JSON:
    """An RDAP error response body."""
    return {
        "rdapConformance": CONFORMANCE,
        "errorCode": code,
        "title": title,
        "description": [description],
    }
