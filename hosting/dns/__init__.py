"""DNS: a trace's lookups with evidence (:class:`DnsClient`) and the probe's address-only
lookups (:class:`ProbeResolver`, with a quick hand-read first try)."""

from hosting.dns.addresses import ProbeResolver
from hosting.dns.lookups import DnsAnswer, DnsClient, DnsStatus, parse_nameservers

__all__ = ["DnsAnswer", "DnsClient", "DnsStatus", "ProbeResolver", "parse_nameservers"]
