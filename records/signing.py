"""The Ed25519 key that signs evidence bundles, and how it is written down.

``TAKEDOWN_SIGNING_KEY`` holds the private key as either

- the standard base64 of the 32-byte raw Ed25519 private key (what ``takedown records new-key``
  prints), or
- a PEM ``PRIVATE KEY`` block (PKCS #8, unencrypted), as ``openssl genpkey -algorithm ed25519``
  writes it.

The public key is published as a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo); its key id
is the first 16 hex digits of the SHA-256 of the 32 raw public-key bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningKeyMissing(LookupError):
    """No signing key is configured (``TAKEDOWN_SIGNING_KEY``)."""


class InvalidSigningKey(ValueError):
    """A key given is neither base64 of 32 raw bytes nor an Ed25519 PEM block."""


def load_private_key(text: str) -> Ed25519PrivateKey:
    """Read a private key in either documented form."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidSigningKey(f"the signing key is not a usable PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidSigningKey("the signing key is a PEM key, but not an Ed25519 one")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, "signing key"))


def load_public_key(data: str | bytes) -> Ed25519PublicKey:
    """Read a public key: a PEM ``PUBLIC KEY`` block or base64 of the 32 raw bytes."""
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise InvalidSigningKey(f"not a usable PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidSigningKey("the public key is not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw32(text, "public key"))


def _raw32(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSigningKey(f"the {what} is neither PEM nor base64") from None
    if len(raw) != 32:
        raise InvalidSigningKey(f"the {what} must be 32 bytes in base64, not {len(raw)}")
    return raw


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The PEM ``PUBLIC KEY`` block anyone may use to check a bundle."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short, stable name for a key pair: 16 hex digits of the public key's SHA-256."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_private_key() -> str:
    """A fresh private key in the base64 form ``TAKEDOWN_SIGNING_KEY`` takes."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode("ascii")


def configured_key(setting: str | None) -> Ed25519PrivateKey:
    """The key ``TAKEDOWN_SIGNING_KEY`` holds; raises :class:`SigningKeyMissing` without one."""
    if not setting or not setting.strip():
        raise SigningKeyMissing(
            "no signing key: set TAKEDOWN_SIGNING_KEY (make one with 'takedown records new-key')"
        )
    return load_private_key(setting)
