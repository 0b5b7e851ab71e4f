"""Reading RDAP answers (RFC 9083): registrar and abuse desk of a domain, owner and abuse desk of
a network or autonomous system.

Pure functions over decoded JSON. Answers are hostile and often off-standard (a ``notices`` that
is an object, ``vcardArray`` rows of the wrong length, roles missing), so every field is
type-checked and anything unexpected is skipped, never trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hosting.common.contacts import (
    EMAIL_IN_TEXT,
    Confidence,
    ContactCollector,
    ContactKind,
    rank_contacts,
)
from hosting.common.countries import country_from_address
from hosting.common.errors import MalformedAnswer
from hosting.common.registrations import (
    NetworkRecord,
    RegistrarRecord,
    cidrs_for_range,
    clean_cidr,
    clean_country,
    clean_text,
)

MAX_ENTITY_DEPTH = 4
MAX_ENTITIES = 200


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _roles(entity: dict[str, Any]) -> set[str]:
    return {r.lower() for r in _as_list(entity.get("roles")) if isinstance(r, str)}


def walk_entities(
    holder: dict[str, Any], depth: int = 1
) -> Iterator[tuple[dict[str, Any], int, dict[str, Any]]]:
    """Yield ``(entity, depth, parent)`` for every entity under ``holder``, depth first, bounded
    in depth and number so a malicious answer cannot make us walk forever."""
    if depth > MAX_ENTITY_DEPTH:
        return
    for entity in _as_list(holder.get("entities"))[:MAX_ENTITIES]:
        if isinstance(entity, dict):
            yield entity, depth, holder
            yield from walk_entities(entity, depth + 1)


def vcard_values(entity: dict[str, Any], name: str) -> list[object]:
    """The values of jCard property ``name`` (``fn``, ``email``, ...) of an entity."""
    card = _as_list(entity.get("vcardArray"))
    if len(card) < 2:
        return []
    values = []
    for prop in _as_list(card[1]):
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == name:
            values.append(prop[3])
    return values


def entity_name(entity: dict[str, Any]) -> str | None:
    """The formatted name (``fn``) of an entity, cleaned."""
    for value in vcard_values(entity, "fn"):
        text = clean_text(value)
        if text:
            return text
    return None


def _iana_id(entity: dict[str, Any]) -> str | None:
    ids = [p for p in _as_list(entity.get("publicIds")) if isinstance(p, dict)]
    ids.sort(key=lambda p: "iana" not in str(p.get("type", "")).lower())
    for public_id in ids:
        text = clean_text(public_id.get("identifier"), 40)
        if text:
            return text
    return None


def _require_object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedAnswer("RDAP answer is not a JSON object")
    if "errorCode" in data and "objectClassName" not in data:
        raise MalformedAnswer("RDAP answer is an error object")
    return data


def _remark_emails(data: dict[str, Any], collector: ContactCollector) -> None:
    for remark in _as_list(data.get("remarks"))[:50]:
        if not isinstance(remark, dict):
            continue
        for line in _as_list(remark.get("description"))[:50]:
            if isinstance(line, str):
                for found in EMAIL_IN_TEXT.findall(line[:1000]):
                    collector.offer(found, Confidence.REMARKS, "address in a remark")


def parse_domain(data: object, server: str, domain: str) -> RegistrarRecord:
    """The registrar of a domain and its abuse desk, from an RDAP domain answer.

    Following the ICANN response profile, the abuse desk is the entity with role ``abuse``
    nested in the ``registrar`` entity; an abuse entity elsewhere ranks lower, the registrar's
    general address (a registrar contact, not an abuse desk) lower still.
    """
    obj = _require_object(data)
    source = f"rdap:{server}"
    collector = ContactCollector.for_source(source)
    others = ContactCollector.for_source(source)
    record = RegistrarRecord(source="rdap", server=server, domain=domain)
    for entity, depth, parent in walk_entities(obj):
        roles = _roles(entity)
        if "registrar" in roles and depth == 1 and record.name is None:
            record.name = entity_name(entity) or clean_text(entity.get("handle"))
            record.iana_id = _iana_id(entity)
            for value in vcard_values(entity, "email"):
                others.general(value, ContactKind.REGISTRAR, "registrar entity e-mail")
        if "abuse" in roles:
            under_registrar = "registrar" in _roles(parent)
            confidence = Confidence.ABUSE_ROLE if under_registrar else Confidence.ABUSE_ELSEWHERE
            how = "abuse entity under the registrar" if under_registrar else "abuse entity"
            for value in vcard_values(entity, "email"):
                collector.offer(value, confidence, how)
    record.abuse_contacts = rank_contacts(collector.contacts + others.contacts)
    record.other_emails = [c.email for c in others.contacts]
    record.notes = collector.notes + others.notes
    return record


def _network_cidrs(obj: dict[str, Any]) -> list[str]:
    cidrs = []
    for item in _as_list(obj.get("cidr0_cidrs"))[:64]:
        if isinstance(item, dict):
            base = item.get("v4prefix") or item.get("v6prefix")
            length = item.get("length")
            if isinstance(base, str) and isinstance(length, int):
                cidr = clean_cidr(f"{base}/{length}")
                if cidr:
                    cidrs.append(cidr)
    if cidrs:
        return cidrs
    start, end = obj.get("startAddress"), obj.get("endAddress")
    if isinstance(start, str) and isinstance(end, str):
        return cidrs_for_range(start, end)
    return []


def _holder_contacts(obj: dict[str, Any], record: NetworkRecord) -> None:
    source = f"rdap:{record.server}"
    collector = ContactCollector.for_source(source)
    others = ContactCollector.for_source(source)
    if "abuse" in _roles(obj):
        for value in vcard_values(obj, "email"):
            collector.offer(value, Confidence.ABUSE_ROLE, "the object itself has role abuse")
    for entity, depth, _parent in walk_entities(obj):
        roles = _roles(entity)
        if "registrant" in roles and depth == 1 and record.organisation is None:
            record.organisation = entity_name(entity)
        if "abuse" in roles:
            top = depth == 1
            confidence = Confidence.ABUSE_ROLE if top else Confidence.NESTED_ABUSE_ROLE
            how = "abuse entity" if top else "abuse entity nested in another entity"
            for value in vcard_values(entity, "email"):
                collector.offer(value, confidence, how)
        else:
            for value in vcard_values(entity, "email"):
                others.general(value, ContactKind.ORGANISATION, "e-mail of a non-abuse entity")
    _remark_emails(obj, collector)
    abuse = {c.email for c in collector.contacts}
    # No desk at all: the holder's own addresses still reach someone.
    record.abuse_contacts = rank_contacts(collector.contacts or others.contacts)
    record.other_emails = list(
        dict.fromkeys(c.email for c in others.contacts if c.email not in abuse)
    )
    record.notes = collector.notes + others.notes


def _registrant_country(obj: dict[str, Any]) -> str | None:
    """The country of the registrant's postal address: its ``cc`` parameter (RFC 8605) or, as
    ARIN prints it, the country's name on the label's last line."""
    for entity, depth, _parent in walk_entities(obj):
        if depth != 1 or "registrant" not in _roles(entity):
            continue
        card = _as_list(entity.get("vcardArray"))
        for prop in _as_list(card[1]) if len(card) >= 2 else []:
            if not (isinstance(prop, list) and len(prop) >= 2 and prop[0] == "adr"):
                continue
            params = prop[1] if isinstance(prop[1], dict) else {}
            code = clean_country(params.get("cc"))
            label = params.get("label")
            if code is None and isinstance(label, str):
                code = country_from_address(label[:1000])
            if code:
                return code
    return None


def parse_network(data: object, server: str) -> NetworkRecord:
    """Owner, prefixes, country, origin AS and abuse desk of an RDAP ``ip network`` answer.

    Without a ``country`` member (ARIN), the country is the registrant's postal address's."""
    obj = _require_object(data)
    record = NetworkRecord(source="rdap", server=server)
    record.name = clean_text(obj.get("name"))
    record.handle = clean_text(obj.get("handle"))
    record.country = clean_country(obj.get("country")) or _registrant_country(obj)
    record.cidrs = _network_cidrs(obj)
    origins = [a for a in _as_list(obj.get("arin_originas0_originautnums")) if isinstance(a, int)]
    record.asn = origins[0] if origins else None
    _holder_contacts(obj, record)
    return record


def parse_autnum(data: object, server: str) -> NetworkRecord:
    """Owner, country and abuse desk of an RDAP ``autnum`` answer (no prefixes)."""
    obj = _require_object(data)
    record = NetworkRecord(source="rdap", server=server)
    record.name = clean_text(obj.get("name"))
    record.handle = clean_text(obj.get("handle"))
    record.country = clean_country(obj.get("country"))
    start = obj.get("startAutnum")
    record.asn = start if isinstance(start, int) else None
    _holder_contacts(obj, record)
    return record


def parse_entity(data: object, server: str) -> NetworkRecord:
    """Abuse desk and other addresses of an RDAP ``entity`` answer, shaped as a network record
    (no prefixes) so contacts are ranked the same way."""
    obj = _require_object(data)
    record = NetworkRecord(source="rdap", server=server)
    record.handle = clean_text(obj.get("handle"))
    record.name = entity_name(obj)
    _holder_contacts(obj, record)
    return record
