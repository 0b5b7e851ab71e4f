"""The fast path for plain URLs gives exactly what the general normaliser gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hosting.urls import (
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
