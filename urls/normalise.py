"""Normalisation of reported URLs, so that one piece of content is one case.

Two reports of the same content rarely spell its URL the same way: host case, IDN forms, default
ports, fragments and percent-encoding differ. :func:`normalise_url` maps every spelling a browser
would treat as the same resource to one string, and refuses anything that is not a web URL.

The rules, in order of the RFC 3986 sections they follow:
- scheme: ``http`` and ``https`` only, lower case (6.2.2.1);
- host: lower case, IDN to punycode (UTS #46), trailing dot dropped; IPv4 literals in any of the
  forms a browser accepts (``0x7f.1``, ``2130706433``) rewritten as dotted quads, IPv6 compressed;
- port: dropped when it is the scheme's default (6.2.3);
- path and query: kept exactly, except that percent-escapes get upper-case hex and escapes of
  unreserved characters are decoded (6.2.2.2); an empty path becomes ``/`` (6.2.3); characters a
  browser would escape before sending (space, non-ASCII) are escaped as UTF-8, and ``\\`` in the
  path becomes ``/`` as browsers do;
- fragment: dropped (never sent to the server);
- user-info: dropped, and flagged, since it can carry credentials.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna

from urls.suffixes import registrable_domain

MAX_URL_LENGTH = 2048
"""Longest normalised URL accepted (the common limit of browsers' address bars and servers)."""

MAX_RAW_LENGTH = 8192
"""Raw input longer than this is refused before any parsing work is spent on it."""

DEFAULT_PORTS = {"http": 80, "https": 443}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What a browser escapes before sending (the WHATWG URL standard's path and query sets):
# anything outside printable ASCII, plus a few printable characters that differ per component.
_PATH_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>`{}]")
_QUERY_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>']")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class InvalidURL(ValueError):
    """The input is not an http(s) URL that a case can be opened for; the message says why."""


@dataclass(frozen=True, slots=True)
class NormalisedURL:
    """A reported URL in canonical form, with the parts later stages need."""

    url: str
    """The canonical URL: the key of a case."""
    scheme: str
    host: str
    """ASCII host (punycode for IDNs), or an IP literal without brackets."""
    display_host: str
    """Unicode form of the host, for people."""
    port: int | None
    """Explicit non-default port, else None."""
    path_and_query: str
    is_ip_literal: bool
    had_userinfo: bool
    """True when user-info was present and has been stripped."""
    registrable_domain: str | None
    """The domain a registrar sells (Public Suffix List, ICANN section); None for IP literals."""

    @property
    def display_url(self) -> str:
        """The URL defanged for logs and pages: never clickable, host in Unicode."""
        return defang(self.url, display_host=self.display_host)


# The shape most reported URLs have: no user-info, escapes, fragment or characters a browser
# would escape. For these every normalisation rule but host, scheme and port is the identity,
# so the general path's splitting and re-escaping can be skipped (a property test holds the two
# paths equal).
_SIMPLE_URL = re.compile(
    r"(?i:(https?))://([A-Za-z0-9._-]+)(?::([0-9]{1,5}))?"
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?"
)

# The shape most hosts have: lower-case labels, the last one starting with a letter. Such a host
# is no IPv4 form and no IDN (without "xn--"), its labels are valid, so the host rules leave it
# as it is and the general path's checks can be skipped (a property test holds the two equal).
_PLAIN_DOMAIN = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+[a-z](?:[a-z0-9_-]{0,62}(?<!-))?")


def normalise_url(raw: str) -> NormalisedURL:
    """Return the canonical form of ``raw``, or raise :class:`InvalidURL` saying why not."""
    simple = _SIMPLE_URL.fullmatch(raw)
    if simple is not None and len(raw) <= MAX_URL_LENGTH:
        return _normalise_simple(simple)
    return _normalise_general(raw)


def _normalise_simple(match: re.Match[str]) -> NormalisedURL:
    scheme = match.group(1).lower()
    port: int | None = None
    if match.group(3) is not None:  # the port is checked before the host, as in the general path
        port = int(match.group(3))
        if not 0 < port < 65536:
            raise InvalidURL(f"port {port} is out of range")
        if port == DEFAULT_PORTS[scheme]:
            port = None
    host = match.group(2)
    if _PLAIN_DOMAIN.fullmatch(host) and len(host) <= 253 and "xn--" not in host:
        display_host, is_ip = host, False
    else:
        host, display_host, is_ip = _normalise_host(host)
    path_and_query = (match.group(4) or "/") + (match.group(5) or "")
    url = f"{scheme}://{host}{f':{port}' if port is not None else ''}{path_and_query}"
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    return NormalisedURL(
        url=url,
        scheme=scheme,
        host=host,
        display_host=display_host,
        port=port,
        path_and_query=path_and_query,
        is_ip_literal=is_ip,
        had_userinfo=False,
        registrable_domain=None if is_ip else registrable_domain(host),
    )


def _normalise_general(raw: str) -> NormalisedURL:
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidURL(f"URL is {len(raw)} characters long; the limit is {MAX_URL_LENGTH}")
    text = raw.strip()
    if not text:
        raise InvalidURL("URL is empty")
    if _CONTROL.search(text):
        raise InvalidURL("URL contains control characters (such as a line break or tab)")
    scheme, sep, _ = text.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        shown = scheme[:20] if sep and re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) else None
        if shown:
            raise InvalidURL(f"scheme '{shown}' is not allowed; only http and https URLs")
        raise InvalidURL("not an http or https URL")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidURL(f"URL cannot be parsed: {exc}") from None
    netloc = parts.netloc
    if not netloc:
        raise InvalidURL("URL has no host")
    had_userinfo = "@" in netloc
    hostport = netloc.rpartition("@")[2]
    if "\\" in hostport:
        raise InvalidURL("host contains a backslash")
    host, port = _split_port(hostport, scheme)
    ascii_host, display_host, is_ip = _normalise_host(host)
    path = _normalise_component(parts.path.replace("\\", "/"), _PATH_ESCAPE) or "/"
    query = _normalise_component(parts.query, _QUERY_ESCAPE)
    path_and_query = path + ("?" + query if "?" in text.partition("#")[0] else "")
    host_in_url = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    port_in_url = f":{port}" if port is not None else ""
    url = f"{scheme}://{host_in_url}{port_in_url}{path_and_query}"
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    return NormalisedURL(
        url=url,
        scheme=scheme,
        host=ascii_host,
        display_host=display_host,
        port=port,
        path_and_query=path_and_query,
        is_ip_literal=is_ip,
        had_userinfo=had_userinfo,
        registrable_domain=None if is_ip else registrable_domain(ascii_host),
    )


def defang(url: str, *, display_host: str | None = None) -> str:
    """Return ``url`` in the defanged form used in logs and pages (``hxxp://example[.]bz/…``).

    The result cannot be followed by a mail client, a terminal or a browser's auto-linker.
    With ``display_host`` the host is shown in that (Unicode) form instead.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.replace(".", "[.]").replace(":", "[:]")
    authority, slash, tail = rest.partition("/")
    hostport = authority.rpartition("@")[2]
    if display_host is not None and not hostport.startswith("["):
        port = hostport.partition(":")[2]
        hostport = display_host + (f":{port}" if port else "")
    fanged_scheme = scheme.lower().replace("http", "hxxp", 1)
    return f"{fanged_scheme}://{hostport.replace('.', '[.]')}{slash}{tail}"


def _split_port(hostport: str, scheme: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise InvalidURL("IPv6 address is missing its closing ']'")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidURL("unexpected text after the IPv6 address")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, None
    if not port_text.isdigit() or len(port_text) > 5:
        raise InvalidURL(f"port '{port_text[:20]}' is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise InvalidURL(f"port {port} is out of range")
    return host, None if port == DEFAULT_PORTS[scheme] else port


def _normalise_host(host: str) -> tuple[str, str, bool]:
    """Return (ASCII host, display host, is an IP literal)."""
    if host.startswith("["):
        inner = host[1:-1]
        if "%" in inner:
            raise InvalidURL("IPv6 zone identifiers are not allowed")
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            raise InvalidURL(f"'{inner[:60]}' is not an IPv6 address") from None
        text = str(address)
        return text, text, True
    host = host.rstrip(".") if host.endswith(".") and not host.endswith("..") else host
    if not host:
        raise InvalidURL("URL has no host")
    ipv4 = _parse_ipv4(host)
    if ipv4 is not None:
        return ipv4, ipv4, True
    return _normalise_domain(host)


_PLAIN_HOST = re.compile(r"^[A-Za-z0-9_.-]+$")


@lru_cache(maxsize=65536)
def _normalise_domain(host: str) -> tuple[str, str, bool]:
    if _PLAIN_HOST.match(host) and "xn--" not in host.lower():
        # Plain ASCII with no IDN labels: UTS #46 would only lower-case it, at 100x the cost.
        return _checked_ascii_host(host.lower()), host.lower(), False
    try:
        ascii_host = idna.encode(host, uts46=True, std3_rules=False).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidURL(f"host '{host[:60]}' is not a valid domain name: {exc}") from None
    _checked_ascii_host(ascii_host)
    try:
        display_host = idna.decode(ascii_host)
    except (idna.IDNAError, UnicodeError):
        display_host = ascii_host
    return ascii_host, display_host, False


def _checked_ascii_host(ascii_host: str) -> str:
    if len(ascii_host) > 253:
        raise InvalidURL("host name is too long (over 253 characters)")
    labels = ascii_host.split(".")
    if len(labels) < 2:
        raise InvalidURL(f"host '{ascii_host[:60]}' is not a fully qualified domain name")
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise InvalidURL(f"host '{ascii_host[:60]}' has an invalid label '{label[:63]}'")
    if labels[-1].isdigit():
        raise InvalidURL(f"host '{ascii_host[:60]}' is neither a domain nor an IPv4 address")
    return ascii_host


def _parse_ipv4(host: str) -> str | None:
    """Parse an IPv4 host the way browsers do (WHATWG URL standard), or return None.

    Browsers read ``0x7f.1`` and ``2130706433`` as 127.0.0.1, so a reporter may give either;
    they must land on the same case and, later, face the same address checks.
    """
    parts = host.split(".")
    if parts[-1] == "":
        parts.pop()
    if not parts or len(parts) > 4 or not _is_ipv4_number(parts[-1]):
        return None
    numbers = []
    for part in parts:
        value = _ipv4_number(part)
        if value is None:
            raise InvalidURL(f"host '{host[:60]}' is not a valid IPv4 address")
        numbers.append(value)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidURL(f"host '{host[:60]}' is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return str(ipaddress.IPv4Address(value))


def _is_ipv4_number(part: str) -> bool:
    return part.isdigit() or (part[:2].lower() == "0x" and _ipv4_number(part) is not None)


def _ipv4_number(part: str) -> int | None:
    if not part:
        return None
    try:
        if part[:2].lower() == "0x":
            return int(part[2:], 16) if part[2:] else 0
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def _normalise_component(text: str, needs_escape: re.Pattern[str]) -> str:
    """Apply RFC 3986 percent-encoding normalisation to a path or query, changing nothing else."""

    def fix_escape(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    text = needs_escape.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)
    return _PERCENT_ESCAPE.sub(fix_escape, text)
