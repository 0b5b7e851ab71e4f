"""Country names as registries print them in postal addresses, read as ISO 3166 alpha-2 codes.

ARIN's RDAP network objects carry no ``country``; the registrant's jCard address ends with the
country's name in capitals (``…\\n94043\\nUNITED STATES``). The names are those of ARIN's
service region (the United States, Canada, the Caribbean and North Atlantic islands it serves),
where that is the only place the country appears.
"""

from __future__ import annotations

ARIN_REGION = {
    "ANGUILLA": "AI",
    "ANTARCTICA": "AQ",
    "ANTIGUA AND BARBUDA": "AG",
    "BAHAMAS": "BS",
    "BARBADOS": "BB",
    "BERMUDA": "BM",
    "BOUVET ISLAND": "BV",
    "CANADA": "CA",
    "CAYMAN ISLANDS": "KY",
    "DOMINICA": "DM",
    "GRENADA": "GD",
    "GUADELOUPE": "GP",
    "HEARD ISLAND AND MCDONALD ISLANDS": "HM",
    "JAMAICA": "JM",
    "MARTINIQUE": "MQ",
    "MONTSERRAT": "MS",
    "PUERTO RICO": "PR",
    "SAINT BARTHELEMY": "BL",
    "SAINT KITTS AND NEVIS": "KN",
    "SAINT LUCIA": "LC",
    "SAINT MARTIN": "MF",
    "SAINT PIERRE AND MIQUELON": "PM",
    "SAINT VINCENT AND THE GRENADINES": "VC",
    "TURKS AND CAICOS ISLANDS": "TC",
    "UNITED STATES": "US",
    "UNITED STATES MINOR OUTLYING ISLANDS": "UM",
    "VIRGIN ISLANDS, BRITISH": "VG",
    "VIRGIN ISLANDS, U.S.": "VI",
}


def country_from_address(label: str) -> str | None:
    """The code of the country an address label ends with, when it is a name we know."""
    lines = [line.strip() for line in label.splitlines() if line.strip()]
    if not lines:
        return None
    return ARIN_REGION.get(" ".join(lines[-1].upper().split())[:60])
