"""URL normalisation: every spelling of one resource is one case; anything else is refused."""

from __future__ import annotations

import pytest

from urls.normalise import MAX_URL_LENGTH, InvalidURL, defang, normalise_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.BZ/Path", "http://example.bz/Path"),
        ("http://example.bz:80/a", "http://example.bz/a"),
        ("https://example.bz:443/a", "https://example.bz/a"),
        ("https://example.bz:8443/a", "https://example.bz:8443/a"),
        ("http://example.bz", "http://example.bz/"),
        ("http://example.bz/a#fragment", "http://example.bz/a"),
        ("http://example.bz./a", "http://example.bz/a"),
        # RFC 3986 6.2.2.2: unreserved escapes decoded, other escapes upper-cased, rest kept.
        (
            "http://example.bz/%7euser/%2fx%2F?q=%aa&r=%41",
            "http://example.bz/~user/%2Fx%2F?q=%AA&r=A",
        ),
        ("http://example.bz/a/../b/./c", "http://example.bz/a/../b/./c"),
        ("http://example.bz/a b", "http://example.bz/a%20b"),
        ("http://example.bz/ñ", "http://example.bz/%C3%B1"),
        ("http://example.bz/a\\b", "http://example.bz/a/b"),
        ("http://example.bz/?", "http://example.bz/?"),
        ("http://Bücher.example.co.uk/", "http://xn--bcher-kva.example.co.uk/"),
        ("http://1.2.3.4/x", "http://1.2.3.4/x"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://[2001:DB8:0::1]:8080/", "http://[2001:db8::1]:8080/"),
        ("  http://example.bz/  ", "http://example.bz/"),
    ],
)
def test_equivalent_spellings_normalise_to_one_url(raw: str, expected: str) -> None:
    assert normalise_url(raw).url == expected


def test_idn_host_keeps_its_unicode_form_for_display() -> None:
    url = normalise_url("http://BÜCHER.example.co.uk/x")
    assert url.host == "xn--bcher-kva.example.co.uk"
    assert url.display_host == "bücher.example.co.uk"
    assert url.display_url == "hxxp://bücher[.]example[.]co[.]uk/x"


def test_userinfo_is_stripped_and_flagged() -> None:
    url = normalise_url("http://user:secret@example.bz/a")
    assert url.url == "http://example.bz/a"
    assert "secret" not in url.url
    assert url.had_userinfo


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.example.co.uk", "example.co.uk"),
        ("a.b.example.bz", "example.bz"),
        ("shop.example.com.bz", "example.com.bz"),
        ("user.github.io", "github.io"),  # the ICANN section decides whose WHOIS matters
    ],
)
def test_registrable_domain_comes_from_the_public_suffix_list(host: str, domain: str) -> None:
    assert normalise_url(f"http://{host}/").registrable_domain == domain


def test_ip_literals_have_no_registrable_domain() -> None:
    url = normalise_url("http://192.0.2.1/")
    assert url.is_ip_literal
    assert url.registrable_domain is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
        ("JavaScript:alert(1)", "scheme 'javascript' is not allowed"),
        ("data:text/html,<b>x</b>", "scheme 'data' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://example.bz/", "scheme 'ftp' is not allowed"),
        ("example.bz/no-scheme", "not an http or https URL"),
        ("", "empty"),
        ("http://", "no host"),
        ("http://localhost/", "not a fully qualified domain name"),
        ("http://exa mple.bz/", "not a valid domain name"),
        ("http://-bad.bz/", "invalid label"),
        ("http://example.bz:0/", "out of range"),
        ("http://example.bz:70000/", "out of range"),
        ("http://example.bz:http/", "not a number"),
        ("http://256.1.1.1/", "not a valid IPv4 address"),
        ("http://[::1/", "IPv6"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://example.bz/\r\nX-Injected: 1", "control characters"),
        ("http://example.bz/\x00", "control characters"),
    ],
)
def test_what_is_not_a_web_url_is_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        normalise_url(raw)


def test_absurd_lengths_are_refused() -> None:
    with pytest.raises(InvalidURL, match="limit"):
        normalise_url("http://example.bz/" + "a" * MAX_URL_LENGTH)
    with pytest.raises(InvalidURL, match="limit"):
        normalise_url("http://example.bz/" + "a" * 100_000)
    with pytest.raises(InvalidURL, match="too long"):
        normalise_url("http://" + ".".join(["a" * 60] * 5) + ".bz/")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://example.bz/a.jpg", "hxxp://example[.]bz/a.jpg"),
        ("https://a.b.example.bz:8443/x?y=1.2", "hxxps://a[.]b[.]example[.]bz:8443/x?y=1.2"),
        ("http://1.2.3.4/", "hxxp://1[.]2[.]3[.]4/"),
    ],
)
def test_defang_makes_urls_unclickable(url: str, shown: str) -> None:
    assert defang(url) == shown
    assert "http://" not in defang(url) and "https://" not in defang(url)
