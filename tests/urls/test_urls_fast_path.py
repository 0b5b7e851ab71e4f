"""The fast path for plain URLs gives exactly what the general normaliser gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from urls.normalise import (
    _PLAIN_DOMAIN,
    _SIMPLE_URL,
    InvalidURL,
    NormalisedURL,
    _normalise_general,
    normalise_url,
)

HOST_CHARS = "abcXYZ019.-_"
PATH_CHARS = "aZ09-._~!$&'()*+,;=:@/?%"


def outcome(fn: object, raw: str) -> NormalisedURL | str:
    try:
        return fn(raw)  # type: ignore[operator, no-any-return]
    except InvalidURL as exc:
        return f"invalid: {exc}"


urls = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["http", "HTTP", "https", "hTTps"]),
    st.one_of(
        st.text(HOST_CHARS, min_size=1, max_size=30),
        st.sampled_from(["example.bz", "a.b.example.co.uk", "0x7f.1", "2130706433", "1.2.3.4"]),
    ),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":65535", ":99999"]),
    st.text(PATH_CHARS, max_size=40).map(lambda p: "/" + p if p else ""),
    st.text(PATH_CHARS, max_size=20).map(lambda q: "?" + q if q else ""),
)


@settings(max_examples=600, deadline=None)
@given(urls)
def test_fast_and_general_paths_agree(raw: str) -> None:
    assert outcome(normalise_url, raw) == outcome(_normalise_general, raw)


def test_the_fast_path_is_taken_for_plain_urls() -> None:
    assert _SIMPLE_URL.fullmatch("http://files.example.bz:8080/a/1001.bin?id=7")
    for tricky in (
        "http://u@example.bz/",
        "http://example.bz/%7e",
        "http://example.bz/#x",
        "http://example.bz/a b",
        "http://[::1]/",
        "http://example.bz/?q='1'",
    ):
        assert not _SIMPLE_URL.fullmatch(tricky), tricky


# Hosts built from labels near every edge of the plain-domain shape: upper case, digits and hex
# forms of IPv4, "xn--" labels, leading or trailing hyphens, labels of 63 and 64 characters,
# names around 253 characters, empty labels and a trailing dot.
labels = st.one_of(
    st.text("az09-_X", min_size=0, max_size=5),
    st.sampled_from(["xn--bcher-kva", "0x7f", "1", "255", "com", "-a", "a-", "bz", "_dmarc"]),
    st.sampled_from([60, 63, 64]).map(lambda n: "a" * n),
)
hosts = st.builds(
    lambda parts, dot, pad: ".".join([*pad, *parts]) + dot,
    st.lists(labels, min_size=1, max_size=5),
    st.sampled_from(["", "."]),
    st.sampled_from([[], ["b" * 63] * 3, ["c" * 62] * 4]),
)


@settings(max_examples=800, deadline=None)
@given(hosts, st.sampled_from(["", "/a?b=1"]))
def test_plain_hosts_take_the_same_path_to_the_same_url(host: str, tail: str) -> None:
    raw = f"http://{host}{tail}"
    assert outcome(normalise_url, raw) == outcome(_normalise_general, raw)


def test_the_host_fast_path_is_taken_for_plain_domains_only() -> None:
    assert _PLAIN_DOMAIN.fullmatch("files.example.bz")
    for tricky in ("Example.bz", "1.2.3.4", "a.0x7f", "a.1bz", "a-.bz", "bz", "a.bz."):
        assert not _PLAIN_DOMAIN.fullmatch(tricky), tricky
