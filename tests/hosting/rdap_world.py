"""A bootstrap folder whose every service points at one loopback RDAP server."""

from __future__ import annotations

import json
from pathlib import Path


def write_bootstrap(folder: Path, base: str, publication: str = "2024-07-25T00:00:01Z") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "dns": [[["bz", "test", "example"], [base]]],
        "ipv4": [[["0.0.0.0/0"], [base]]],
        "ipv6": [[["::/0"], [base]]],
        "asn": [[["1-4199999999"], [base]]],
    }
    for name, services in files.items():
        body = {"version": "1.0", "publication": publication, "services": services}
        (folder / f"{name}.json").write_text(json.dumps(body), "utf-8")
    return folder
