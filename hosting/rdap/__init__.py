"""RDAP: service discovery from the IANA bootstrap (RFC 9224), the client, and the parsers of
its answers (RFC 9083)."""

from hosting.rdap.bootstrap import RdapBootstrap
from hosting.rdap.client import RdapAnswer, RdapClient

__all__ = ["RdapAnswer", "RdapBootstrap", "RdapClient"]
