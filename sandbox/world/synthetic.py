"""The synthetic bytes a content URL serves: deterministic, pseudo-random, never an image.

Every body starts with a plain-text marker so that nobody can mistake it for real material, and
no image format starts that way. The rest is seeded from the world seed and the URL's identity,
so the same world serves the same bytes (and digest) on every run and every machine.
"""

from __future__ import annotations

import hashlib
import random

MARKER = b"TAKEDOWN-SANDBOX SYNTHETIC CONTENT - NOT AN IMAGE\n"
DEFAULT_SIZE = 4096
MAX_SIZE = 1 << 20  # one mebibyte: plenty for a probe, small enough to generate per request


def synthetic_bytes(seed: int, key: str, size: int) -> bytes:
    """Return the `size` bytes served for the URL identified by `key` in a world of `seed`."""
    if not len(MARKER) <= size <= MAX_SIZE:
        raise ValueError(f"content size {size} is outside {len(MARKER)}..{MAX_SIZE}")
    rng = random.Random(f"{seed}:{key}")
    return MARKER + rng.randbytes(size - len(MARKER))


def synthetic_sha256(seed: int, key: str, size: int) -> str:
    """Return the hex SHA-256 of `synthetic_bytes(seed, key, size)`."""
    return hashlib.sha256(synthetic_bytes(seed, key, size)).hexdigest()
