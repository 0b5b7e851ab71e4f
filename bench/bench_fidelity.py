"""Fidelity scorecard: our registry parsers against real captures, next to python-whois and ipwhois.

    python -m bench.bench_fidelity [PEER]   # PEER defaults to ../shared/fixtures/peer

Every capture the index (``expectations.tsv``) lists is parsed offline, and for each kind
(domain WHOIS, IP WHOIS, RDAP domain, RDAP IP: networks and AS numbers) we count how often the
registrar or network name, a reachable contact, the abuse desk and the country match the index.
A column counts only the rows where the index (or, for domain WHOIS contacts, the hand-read
table in ``tests/hosting/data/registrar_contacts.tsv``) holds a value. Misses are listed under
the table; docs/tracing.md says why the remaining ones are not ours to fix.

Scoring is strict for us and lenient for the others: our abuse desk is the first contact of kind
``abuse``; python-whois and ipwhois cannot tell a desk from any other address, so any address
they return that the index names as the desk counts for them.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.rdap.parse import parse_autnum, parse_domain, parse_network
from hosting.whois.parse import parse_domain_whois
from hosting.whois.parse_ip import parse_ip_whois

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PEER = REPO.parent / "shared" / "fixtures" / "peer"
REGISTRAR_CONTACTS = REPO / "tests" / "hosting" / "data" / "registrar_contacts.tsv"
COLUMNS = ("name", "reachable", "abuse", "country")
KINDS = ("domain WHOIS", "IP WHOIS", "RDAP domain", "RDAP IP")
_ASN_DATA = {"asn_registry": "arin"}
"""ipwhois builds the URL of the query it would send from this; the answer is given, so it
sends none."""
_PUBLIC_IDS = re.compile(r"\s*\(publicIds ([^)]*)\)\s*$")


@dataclass(slots=True)
class Expected:
    """What the index says one capture holds (empty: nothing to score)."""

    kind: str
    label: str
    names: set[str] = field(default_factory=set)
    reachable: set[str] = field(default_factory=set)
    abuse: set[str] = field(default_factory=set)
    country: str = ""


@dataclass(slots=True)
class Found:
    """What one parser made of a capture."""

    names: set[str] = field(default_factory=set)
    contacts: list[str] = field(default_factory=list)
    desks: list[str] = field(default_factory=list)
    country: str | None = None


@dataclass(slots=True)
class Tally:
    """Hits out of scored rows per column, and the misses by label."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    misses: list[str] = field(default_factory=list)

    def score(self, want: Expected, got: Found | None, strict_desk: bool) -> None:
        if got is None:
            return
        checks = {
            "name": (bool(want.names), bool(want.names & {_fold(n) for n in got.names})),
            "reachable": (bool(want.reachable), bool(want.reachable & set(got.contacts))),
            "abuse": (
                bool(want.abuse),
                (bool(got.desks) and got.desks[0] in want.abuse)
                if strict_desk
                else bool(want.abuse & set(got.contacts)),
            ),
            "country": (bool(want.country), (got.country or "").upper() == want.country),
        }
        for column, (scored, hit) in checks.items():
            if scored:
                self.rows[column] += 1
                self.hits[column] += int(hit)
                if not hit:
                    self.misses.append(f"{want.label}: {column}")

    def cell(self, column: str) -> str:
        return f"{self.hits[column]}/{self.rows[column]}" if self.rows[column] else "-"


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _emails(text: str) -> set[str]:
    return {e.strip().lower() for e in re.split(r"[,\s]+", text) if "@" in e}


def _read(peer: Path, relative: str) -> str:
    return (peer / relative).read_bytes().decode("utf-8", errors="replace")


def _ours_registrar(record: RegistrarRecord) -> Found:
    return Found(
        names={record.name or "", record.iana_id or ""} - {""},
        contacts=[c.email.lower() for c in record.abuse_contacts],
        desks=[c.email.lower() for c in record.abuse_contacts if c.is_desk],
        country=record.registrant_country,
    )


def _ours_network(record: NetworkRecord) -> Found:
    return Found(
        names={record.name or "", record.organisation or "", record.handle or ""} - {""},
        contacts=[c.email.lower() for c in record.abuse_contacts],
        desks=[c.email.lower() for c in record.abuse_contacts if c.is_desk],
        country=record.country,
    )


def _python_whois(domain: str, text: str) -> Found | None:
    import whois.parser

    try:
        entry = whois.parser.WhoisEntry.load(domain, text)
    except Exception:  # a third-party parser on real data: any failure is a miss
        return Found()
    registrar = entry.get("registrar")
    names = registrar if isinstance(registrar, list) else [registrar]
    emails = entry.get("emails") or []
    emails = [emails] if isinstance(emails, str) else emails
    country = entry.get("country")
    return Found(
        names={n for n in names if isinstance(n, str)},
        contacts=[e.lower() for e in emails if isinstance(e, str)],
        country=country if isinstance(country, str) else None,
    )


def _offline(*_args: object, **_kwargs: object) -> Any:
    raise RuntimeError("the scorecard parses captures offline; no query leaves this machine")


def _ipwhois_net(address: str) -> Any:
    from ipwhois.net import Net

    net = Net(address)
    # ipwhois fetches what it lacks; here every fetch fails instead of reaching a registry.
    for name in [m for m in dir(net) if m.startswith("get_")]:
        setattr(net, name, _offline)
    return net


def _ipwhois_whois(address: str, entry: dict[str, Any]) -> Found:
    from ipwhois.whois import Whois

    try:
        # is_offline: parse the given text only, never ask a WHOIS server.
        result = Whois(_ipwhois_net(address)).lookup(
            asn_data=entry["asn_data"], response=entry["response"], is_offline=True
        )
    except Exception:
        return Found()
    nets = result.get("nets") or [{}]
    net = nets[-1]
    emails = [e.lower() for n in nets for e in (n.get("emails") or [])]
    names = {net.get("name") or "", net.get("description") or "", net.get("handle") or ""}
    return Found(names=names - {""}, contacts=emails, country=net.get("country"))


def _ipwhois_rdap(address: str, response: dict[str, Any], asn_data: dict[str, Any]) -> Found:
    from ipwhois.rdap import RDAP

    try:
        # depth 0: deeper entities would need ipwhois's own HTTP queries (this runs offline).
        result = RDAP(_ipwhois_net(address)).lookup(
            asn_data=asn_data, response=response, depth=0, root_ent_check=False
        )
    except Exception:
        return Found()
    network = result.get("network") or {}
    emails: list[str] = []
    desks: list[str] = []
    for obj in (result.get("objects") or {}).values():
        for item in ((obj.get("contact") or {}).get("email")) or []:
            value = str(item.get("value", "")).lower()
            emails.append(value)
            if "abuse" in (obj.get("roles") or []):
                desks.append(value)
    names = {network.get("name") or "", network.get("handle") or ""}
    return Found(names=names - {""}, contacts=emails, desks=desks, country=network.get("country"))


Parser = Callable[[], Found | None]


def _ip_abuse(cell: str, source: str) -> set[str]:
    for part in cell.split("|"):
        label, _, value = part.strip().partition(":")
        if label == f"{source}-abuse":
            return _emails(value)
    return set()


def _registrar_contacts() -> dict[str, set[str]]:
    lines = REGISTRAR_CONTACTS.read_text("utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return {r[0]: _emails(r[1]) for r in rows[1:]}


def cases(peer: Path) -> Iterable[tuple[Expected, dict[str, Parser]]]:
    """Every scored capture with its expectation and the parsers that read that kind."""
    with (peer / "expectations.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    contacts = _registrar_contacts()
    whois_json = json.loads(_read(peer, "ipwhois/ipwhois/tests/whois.json"))
    rdap_json = json.loads(_read(peer, "ipwhois/ipwhois/tests/rdap.json"))
    for row in rows:
        kind, name, source = row["kind"], row["input"], row["source"]
        country = row["country"] if re.fullmatch(r"[A-Z]{2}", row["country"]) else ""
        if kind == "domain-whois":
            text = _read(peer, source)
            want = Expected("domain WHOIS", name, country=country)
            want.names = {_fold(row["registrar_or_netname"])} - {""}
            want.abuse = _emails(row["abuse_email"])
            want.reachable = contacts.get(name, set()) | want.abuse
            yield (
                want,
                {
                    "ours": lambda n=name, t=text: _ours_registrar(parse_domain_whois(n, t, "x")),
                    "python-whois": lambda n=name, t=text: _python_whois(n, t),
                },
            )
        elif kind == "ip":
            entry, rdap = whois_json[name], rdap_json[name]
            names = {_fold(row["registrar_or_netname"])}
            whois_want = Expected("IP WHOIS", name, names, country=country)
            whois_want.abuse = whois_want.reachable = _ip_abuse(row["abuse_email"], "whois")
            yield (
                whois_want,
                {
                    "ours": lambda e=entry: _ours_network(parse_ip_whois(e["response"], "x")),
                    "ipwhois": lambda a=name, e=entry: _ipwhois_whois(a, e),
                },
            )
            rdap_want = Expected("RDAP IP", f"{name} (ipwhois)", names, country=country)
            rdap_want.abuse = rdap_want.reachable = _ip_abuse(row["abuse_email"], "rdap")
            yield (
                rdap_want,
                {
                    "ours": lambda r=rdap: _ours_network(parse_network(r["response"], "x")),
                    "ipwhois": lambda a=name, r=rdap: _ipwhois_rdap(
                        a, r["response"], r["asn_data"]
                    ),
                },
            )
        elif kind in ("rdap-domain", "rdap-ip_network", "rdap-autnum"):
            data = json.loads(_read(peer, source))
            registrar = row["registrar_or_netname"]
            public = _PUBLIC_IDS.search(registrar)
            label = f"{name} ({Path(source).name})"
            abuse = _emails(row["abuse_email"])
            if kind == "rdap-domain":
                want = Expected("RDAP domain", label, abuse=abuse, reachable=abuse)
                want.names = {_fold(_PUBLIC_IDS.sub("", registrar))} - {""}
                if not want.names and public:
                    want.names = {_fold(i) for i in public.group(1).split(",") if i}
                yield (
                    want,
                    {"ours": lambda d=data, n=name: _ours_registrar(parse_domain(d, "x", n))},
                )
            else:
                want = Expected("RDAP IP", label, {_fold(registrar)} - {""}, abuse, abuse, country)
                parse = parse_network if kind == "rdap-ip_network" else parse_autnum
                ours: Parser = lambda d=data, p=parse: _ours_network(p(d, "x"))  # noqa: E731
                parsers = {"ours": ours}
                address = data.get("startAddress") if isinstance(data, dict) else None
                if kind == "rdap-ip_network" and isinstance(address, str):
                    parsers["ipwhois"] = lambda a=address, d=data: _ipwhois_rdap(a, d, _ASN_DATA)
                yield want, parsers


def scorecard(peer: Path) -> dict[tuple[str, str], Tally]:
    """Tallies per (kind, parser)."""
    tallies: dict[tuple[str, str], Tally] = {}
    for want, parsers in cases(peer):
        for tool, parse in parsers.items():
            tally = tallies.setdefault((want.kind, tool), Tally())
            tally.score(want, parse(), strict_desk=tool == "ours")
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", nargs="?", type=Path, default=DEFAULT_PEER)
    args = parser.parse_args(argv)
    if not (args.peer / "expectations.tsv").is_file():
        print(f"no expectations.tsv under {args.peer}", file=sys.stderr)
        return 2
    tallies = scorecard(args.peer)
    header = f"{'kind':<13} {'parser':<13}" + "".join(f"{c:>11}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        for (k, tool), tally in tallies.items():
            if k == kind:
                cells = "".join(f"{tally.cell(c):>11}" for c in COLUMNS)
                print(f"{kind:<13} {tool:<13}{cells}")
    print("\nmisses (ours):")
    for (kind, tool), tally in tallies.items():
        if tool == "ours":
            for miss in tally.misses:
                print(f"  {kind}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
