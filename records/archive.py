"""The evidence bundle's archive format: a deterministic ZIP with a signed manifest.

Layout: the evidence files, ``manifest.json`` (each file's path, size and SHA-256, and who made
the bundle when) and ``manifest.sig`` (base64 of the Ed25519 signature over the manifest's
exact bytes). Members are stored uncompressed with fixed timestamps and attributes, so the
archive is a pure function of its files: verification rebuilds it and compares byte for byte,
which catches a change to any byte, even in ZIP headers that no digest covers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records.signing import key_id

FORMAT = "takedown-evidence-bundle"
VERSION = 2
"""2: evidence files hold the bytes as received, and match their capture hashes."""
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_MEMBER_BYTES = 256 * 2**20
"""A bundle member larger than this is refused on verification (a ZIP bomb is not evidence)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seal(
    files: Sequence[tuple[str, bytes]], header: dict[str, Any], key: Ed25519PrivateKey
) -> bytes:
    """The signed archive of ``files`` (path, bytes), with ``header`` fields in the manifest."""
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        **header,
        "key_id": key_id(key),
        "files": [
            {"path": path, "bytes": len(data), "sha256": sha256_hex(data)} for path, data in files
        ],
    }
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    signature = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
    return _write([*files, (MANIFEST, manifest_bytes), (SIGNATURE, signature)])


def _write(members: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


# What the standard library raises for a damaged archive or member (an encryption flag
# switched on is a RuntimeError, an unknown version a NotImplementedError).
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """The outcome of :func:`verify`: each problem names the file it is about."""

    files: int
    case_reference: str | None
    key_id: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(data: bytes, public_key: Ed25519PublicKey) -> BundleCheck:
    """Check the signature, every listed file's digest, and that no byte of the archive changed."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _UNREADABLE as exc:
        return BundleCheck(0, None, None, (f"the bundle is not a readable ZIP archive ({exc})",))
    with archive:
        members: dict[str, bytes] = {}
        problems: list[str] = []
        for info in archive.infolist():
            if info.file_size > MAX_MEMBER_BYTES or info.filename in members:
                problems.append(f"{info.filename}: unexpected (too large or listed twice)")
                continue
            try:
                members[info.filename] = archive.read(info)
            except _UNREADABLE as e:
                problems.append(f"{info.filename}: damaged ({e})")
        return _check_members(data, members, problems, public_key)


def _check_members(
    data: bytes, members: dict[str, bytes], problems: list[str], public_key: Ed25519PublicKey
) -> BundleCheck:
    manifest_bytes = members.get(MANIFEST)
    signature_text = members.get(SIGNATURE)
    if manifest_bytes is None or signature_text is None:
        problems.append(f"{MANIFEST} or {SIGNATURE}: missing")
        return BundleCheck(0, None, None, tuple(problems))
    try:
        public_key.verify(base64.b64decode(signature_text.strip(), validate=True), manifest_bytes)
    except (InvalidSignature, binascii.Error, ValueError):
        problems.append(
            f"{MANIFEST}: the signature does not match (the manifest was changed, or it was "
            "signed with another key)"
        )
    try:
        manifest = json.loads(manifest_bytes)
        listed = [(str(f["path"]), str(f["sha256"])) for f in manifest["files"]]
    except (ValueError, KeyError, TypeError):
        problems.append(f"{MANIFEST}: not a bundle manifest")
        return BundleCheck(0, None, None, tuple(problems))
    for path, digest in listed:
        if path not in members:
            if not any(p.startswith(f"{path}:") for p in problems):
                problems.append(f"{path}: listed in the manifest but missing")
        elif sha256_hex(members[path]) != digest:
            problems.append(f"{path}: its SHA-256 differs from the manifest")
    names = {path for path, _ in listed} | {MANIFEST, SIGNATURE}
    problems.extend(
        f"{extra}: not listed in the manifest" for extra in members if extra not in names
    )
    if not problems:
        problems.extend(_structure_problems(data, [(p, members[p]) for p, _ in listed], members))
    case = manifest.get("case") if isinstance(manifest, dict) else None
    reference = case.get("reference") if isinstance(case, dict) else None
    return BundleCheck(
        len(listed),
        str(reference) if reference else None,
        str(manifest.get("key_id")) if manifest.get("key_id") else None,
        tuple(problems),
    )


def _structure_problems(
    data: bytes, files: list[tuple[str, bytes]], members: dict[str, bytes]
) -> list[str]:
    """Rebuild the archive from its verified contents; any differing byte is tampering."""
    rebuilt = _write([*files, (MANIFEST, members[MANIFEST]), (SIGNATURE, members[SIGNATURE])])
    if rebuilt == data:
        return []
    offset = next(
        (i for i, (a, b) in enumerate(zip(rebuilt, data, strict=False)) if a != b),
        min(len(rebuilt), len(data)),
    )
    with zipfile.ZipFile(io.BytesIO(rebuilt)) as archive:
        owner = None
        for info in archive.infolist():
            if info.header_offset <= offset:
                owner = info.filename
    if owner is not None and offset < _central_directory_start(rebuilt):
        return [f"{owner}: its ZIP header was altered (byte {offset})"]
    return [f"the archive's directory was altered (byte {offset})"]


def _central_directory_start(archive_bytes: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        last = archive.infolist()[-1]
        # A stored member's local header is 30 bytes plus its name (no extra field written).
        return last.header_offset + 30 + len(last.filename.encode()) + last.compress_size
