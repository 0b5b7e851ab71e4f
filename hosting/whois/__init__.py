"""Port-43 WHOIS (RFC 3912): the client with its referral walk, and the parsers of domain and
address answers."""

from hosting.whois.client import WhoisAnswer, WhoisClient, WhoisOverrides, decode_whois

__all__ = ["WhoisAnswer", "WhoisClient", "WhoisOverrides", "decode_whois"]
