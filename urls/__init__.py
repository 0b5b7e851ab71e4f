"""The identity of a case: reported URLs normalised so one piece of content is one case, shown
defanged to people, and the registrable domain a host belongs to (Public Suffix List)."""

from urls.normalise import MAX_URL_LENGTH, InvalidURL, NormalisedURL, defang, normalise_url
from urls.suffixes import registrable_domain

__all__ = [
    "MAX_URL_LENGTH",
    "InvalidURL",
    "NormalisedURL",
    "defang",
    "normalise_url",
    "registrable_domain",
]
