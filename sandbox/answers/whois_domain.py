"""Domain WHOIS answers in the layouts real registries and registrars use.

Shapes follow public captures: ICANN-style gTLD records (`Registrar Abuse Contact Email:`), a
thin registry that only names the registrar's WHOIS server, SIDN's indented blocks,
Nominet's (which carry no abuse address at all), AFNIC's RPSL-like objects (.fr .re .pm .tf .wf
.yt: the registrar is an object of its own, with only a general e-mail) and the .nz registry's
``registrar_email:`` (again a general address, no abuse desk).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.world.model import Domain, Registrar, Registry

REGISTRY_TERMS = (
    "\nThe registration data available in this service is limited. This sandbox registry\n"
    "answers for a simulated world only; automated high-volume queries may be refused.\n"
)
REFUSAL = "Query rate limit exceeded. Please try again later.\n"


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _domain_id(domain: Domain) -> str:
    digits = sum(ord(c) * (i + 1) for i, c in enumerate(domain.name)) % 10_000_000
    return f"D{digits:07d}-{domain.tld.upper()}"


def _statuses(suspended: bool) -> list[str]:
    if suspended:
        return ["clientHold https://icann.org/epp#clientHold"]
    return ["clientTransferProhibited https://icann.org/epp#clientTransferProhibited"]


def gtld_record(
    domain: Domain, registrar: Registrar, *, with_abuse: bool, suspended: bool, now: float
) -> str:
    """An ICANN-style record; `with_abuse` False gives a thin registry's answer."""
    lines = [
        f"Domain Name: {domain.name.upper()}",
        f"Registry Domain ID: {_domain_id(domain)}",
        f"Registrar WHOIS Server: {registrar.whois_server}",
        f"Registrar URL: http://www.{registrar.whois_server.removeprefix('whois.')}",
        "Updated Date: 2025-11-02T08:15:00Z",
        f"Creation Date: {domain.created}",
        "Registry Expiry Date: 2027-03-04T10:00:00Z",
        f"Registrar: {registrar.name}",
        f"Registrar IANA ID: {registrar.iana_id}",
    ]
    if with_abuse:
        lines += [
            f"Registrar Abuse Contact Email: {registrar.abuse_email}",
            f"Registrar Abuse Contact Phone: {registrar.abuse_phone}",
        ]
    lines += [f"Domain Status: {s}" for s in _statuses(suspended)]
    if with_abuse:
        lines += [
            "Registrant Organization: REDACTED FOR PRIVACY",
            f"Registrant Country: {registrar.country}",
        ]
    lines += [f"Name Server: {ns.upper()}" for ns in domain.nameservers]
    lines += [
        "DNSSEC: unsigned",
        "URL of the ICANN Whois Inaccuracy Complaint Form: https://www.icann.org/wicf/",
        f">>> Last update of WHOIS database: {_stamp(now)} <<<",
        "",
        "For more information on Whois status codes, please visit https://icann.org/epp",
    ]
    return "\n".join(lines) + "\n" + REGISTRY_TERMS


def thin_record(domain: Domain, registrar: Registrar, *, suspended: bool, now: float) -> str:
    """A thin registry's answer: indented, naming the registrar's WHOIS and nothing personal."""
    record = gtld_record(domain, registrar, with_abuse=False, suspended=suspended, now=now)
    body, _, terms = record.partition("\n\n")
    indented = "\n".join("   " + line for line in body.splitlines())
    return indented + "\n\n" + terms


def sidn_record(domain: Domain, registrar: Registrar, *, suspended: bool) -> str:
    """The .nl registry's layout: indented blocks, the abuse contact in its own block."""
    status = "inactive" if suspended else "active"
    nameservers = "\n".join(f"   {ns}" for ns in domain.nameservers)
    return (
        f"Domain name: {domain.name}\n"
        f"Status:      {status}\n\n"
        f"Registrar:\n   {registrar.name}\n   {registrar.country}\n\n"
        f"Abuse Contact:\n   {registrar.abuse_phone}\n   {registrar.abuse_email}\n\n"
        "DNSSEC:      no\n\n"
        f"Domain nameservers:\n{nameservers}\n\n"
        f"Creation Date: {domain.created[:10]}\n\n"
        "Updated Date: 2025-11-02\n\n"
        "Record maintained by: Example .nl Registry\n"
    )


def nominet_record(domain: Domain, registrar: Registrar, *, suspended: bool, now: float) -> str:
    """The .uk registry's layout: indented sections, a registrar tag and no abuse address."""
    tag = registrar.id.upper().replace("-", "")
    nameservers = "\n".join(f"        {ns}" for ns in domain.nameservers)
    status = "Suspended." if suspended else "Registered until expiry date."
    stamp = datetime.fromtimestamp(now, UTC).strftime("%H:%M:%S %d-%b-%Y")
    return (
        f"\n    Domain name:\n        {domain.name}\n\n"
        f"    Registrar:\n        {registrar.name} [Tag = {tag}]\n"
        f"        URL: http://www.{registrar.whois_server.removeprefix('whois.')}\n\n"
        "    Relevant dates:\n        Registered on: 04-Mar-2021\n"
        "        Expiry date:  04-Mar-2027\n        Last updated:  02-Nov-2025\n\n"
        f"    Registration status:\n        {status}\n\n"
        f"    Name servers:\n{nameservers}\n\n"
        f"    WHOIS lookup made at {stamp}\n\n"
        "--\nThis WHOIS information is provided by the Example .uk Registry.\n"
    )


def _afnic_line(key: str, value: str) -> str:
    return f"{key + ':':<31}{value}"


def afnic_record(domain: Domain, registrar: Registrar, *, suspended: bool) -> str:
    """AFNIC's layout: a domain object naming the registrar, then the registrar's own object
    (address and general e-mail, no abuse desk), then the holder's contact object."""
    holder = f"H{len(domain.name):02d}{domain.tld.upper()}-FRNIC"
    status = "FROZEN" if suspended else "ACTIVE"
    domain_object = [
        ("domain", domain.name),
        ("status", status),
        ("hold", "NO"),
        ("holder-c", holder),
        ("admin-c", holder),
        ("tech-c", holder),
        ("registrar", registrar.name),
        ("Expiry Date", "2027-03-04T10:00:00Z"),
        ("created", domain.created),
        ("last-update", "2025-11-02T08:15:00Z"),
        ("source", "FRNIC"),
    ]
    nservers = [("nserver", ns) for ns in domain.nameservers] + [("source", "FRNIC")]
    registrar_object = [
        ("registrar", registrar.name),
        ("address", "1 rue de l'Exemple"),
        ("address", "75000 PARIS"),
        ("country", registrar.country),
        ("phone", registrar.abuse_phone),
        ("e-mail", registrar.general_email),
        ("website", f"http://www.{registrar.whois_server.removeprefix('whois.')}"),
        ("anonymous", "No"),
        ("registered", "2004-01-07T00:00:00Z"),
        ("source", "FRNIC"),
    ]
    holder_object = [
        ("nic-hdl", holder),
        ("type", "ORGANIZATION"),
        ("contact", "REDACTED FOR PRIVACY"),
        ("country", "FR"),
        ("registrar", registrar.name),
        ("source", "FRNIC"),
    ]
    header = "%%\n%% This is the sandbox's AFNIC-style Whois server.\n%%\n\n"
    blocks = [domain_object, nservers, registrar_object, holder_object]
    body = "\n\n".join("\n".join(_afnic_line(k, v) for k, v in b) for b in blocks)
    return header + body + "\n\n>>> Last update of WHOIS database <<<\n"


def nz_record(domain: Domain, registrar: Registrar, *, suspended: bool) -> str:
    """The .nz registry's layout: ``key_name: value`` lines; the registrar by name, telephone
    and general e-mail, and no abuse desk."""
    status = "pendingRelease" if suspended else "ok"
    lines = [
        f"domain_name: {domain.name}",
        f"query_status: 200 {'Suspended' if suspended else 'Active'}",
        f"domain_dateregistered: {domain.created}",
        "domain_signed: no",
        f"domain_status: {status}",
        f"registrar_name: {registrar.name}",
        "registrar_address1: 1 Example Street",
        "registrar_city: Wellington",
        f"registrar_country: {registrar.country}",
        f"registrar_phone: {registrar.abuse_phone}",
        f"registrar_email: {registrar.general_email}",
    ]
    lines += [f"ns_name_{i:02d}: {ns}" for i, ns in enumerate(domain.nameservers, start=1)]
    lines += ["registrant_contact_name: REDACTED FOR PRIVACY", "% Sandbox .nz-style registry"]
    return "\n".join(lines) + "\n"


def registry_answer(
    registry: Registry,
    domain: Domain | None,
    registrar: Registrar | None,
    *,
    query: str,
    suspended: bool,
    now: float,
) -> str:
    """What a TLD registry's WHOIS says about `query` (`domain` None: not registered)."""
    if domain is None or registrar is None:
        if registry.layout == "sidn":
            return f"{query} is free\n"
        return f'No match for "{query.upper()}".\n' + REGISTRY_TERMS
    if registry.layout == "sidn":
        return sidn_record(domain, registrar, suspended=suspended)
    if registry.layout == "nominet":
        return nominet_record(domain, registrar, suspended=suspended, now=now)
    if registry.layout == "afnic":
        return afnic_record(domain, registrar, suspended=suspended)
    if registry.layout == "nz":
        return nz_record(domain, registrar, suspended=suspended)
    if registry.whois == "thin":
        return thin_record(domain, registrar, suspended=suspended, now=now)
    return gtld_record(domain, registrar, with_abuse=True, suspended=suspended, now=now)


def registrar_answer(
    registrar: Registrar, domain: Domain | None, *, query: str, suspended: bool, now: float
) -> str:
    """What a registrar's own WHOIS says: the full record, abuse contact included."""
    if domain is None or domain.registrar != registrar.id:
        return f'No match for domain "{query.upper()}".\n'
    record = gtld_record(domain, registrar, with_abuse=True, suspended=suspended, now=now)
    return record.replace("Registry Expiry Date:", "Registrar Registration Expiration Date:", 1)
