"""The audit key: an HMAC key kept outside the database, so only its holder can extend the chain.

``TAKEDOWN_AUDIT_KEY`` holds the standard base64 of at least 32 random bytes (``takedown audit
new-key`` prints a fresh one). Every entry appended while it is set carries
HMAC-SHA256(key, entry hash). Someone who can write the database but does not hold the key
can still recompute plain SHA-256 hashes, but not the MACs, so a rewritten entry is found.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from settings import get_settings

MIN_KEY_BYTES = 32


class InvalidAuditKey(ValueError):
    """The audit key is not base64 of at least 32 bytes."""


@dataclass(frozen=True, slots=True)
class AuditKey:
    raw: bytes

    def __repr__(self) -> str:
        return f"AuditKey(id={self.id})"

    @classmethod
    def parse(cls, text: str) -> AuditKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidAuditKey("TAKEDOWN_AUDIT_KEY is not base64") from None
        if len(raw) < MIN_KEY_BYTES:
            raise InvalidAuditKey(
                f"TAKEDOWN_AUDIT_KEY must hold at least {MIN_KEY_BYTES} bytes, not {len(raw)}"
            )
        return cls(raw)

    @property
    def id(self) -> str:
        """A short name for the key that reveals nothing of it (16 hex digits of a MAC)."""
        return hmac.new(self.raw, b"takedown audit key id", hashlib.sha256).hexdigest()[:16]

    def mac(self, entry_hash: str) -> str:
        """The MAC of an entry: HMAC-SHA256 over its hash (which covers its predecessor's)."""
        return hmac.new(self.raw, entry_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def check(self, entry_hash: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(entry_hash), mac)


def configured_audit_key() -> AuditKey | None:
    """The key ``TAKEDOWN_AUDIT_KEY`` holds, or None when it is not set."""
    setting = get_settings().audit_key
    if setting is None or not setting.get_secret_value().strip():
        return None
    return AuditKey.parse(setting.get_secret_value())


def new_audit_key() -> str:
    """A fresh key in the form ``TAKEDOWN_AUDIT_KEY`` takes."""
    return base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode("ascii")
