"""X-ARF v4 reports (``content``/``csam``) attached to host, registrar and CDN notices.

One report per URL: X-ARF v4 defines a report as a single JSON object and has no array form, so a
notice with several URLs carries several ``application/json`` attachments, one report each.

A report says what and where, never the material: the URL, the legal classification, how it was
detected and verified, the SHA-256 of the confirmed content when known, the case reference and the
reporting portal. Reports are built from validated values only, with the field set the X-ARF
schema knows (no "unknown field" warnings), and checked against the ``xarf`` package's typed
``CsamReport`` model. :func:`validate_report` runs the package's full JSON-Schema validation; it
costs a few milliseconds, so rendering only calls it when asked to.

``report_id`` is a version-4-shaped UUID derived from the notice id and the URL, so rendering the
same notice twice yields byte-identical reports (and an identical evidence hash).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import xarf as xarf_lib

from notices.directory import Hotline
from notices.facts import NoticeItem
from notices.routing import PlannedNotice

XARF_CONTENT_TYPE = "application/json"
MAX_DESCRIPTION = 1000  # the X-ARF core schema's limit
MAX_HOSTING_PROVIDER = 200

# Patterns the X-ARF schema imposes on optional fields; a value that does not fit is left out.
_TAG = re.compile(r"^[a-z0-9][a-z0-9_+-]*:[a-z0-9][a-z0-9_+-]*$")
_DOMAIN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")


class XarfInvalid(ValueError):
    """An X-ARF report failed validation; the message lists the problems."""


@dataclass(frozen=True, slots=True)
class XarfAttachment:
    """One X-ARF report as it is attached: file name, report id and JSON bytes."""

    filename: str
    report_id: str
    data: bytes


def _timestamp(value: datetime) -> str:
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def stable_report_id(notice_id: str, item: NoticeItem) -> str:
    """A UUID (version 4 layout) derived from the notice and the URL: the same input, same id."""
    digest = hashlib.sha256(f"{notice_id}\n{item.case_id}\n{item.url}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def url_host(url: str) -> str:
    """The host of a normalised ``http(s)://`` URL, without brackets, user-info or port.

    (A few string operations: ``urllib.parse.urlsplit`` costs ten times as much per report.)
    """
    rest = url.partition("://")[2]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1 : authority.find("]")].lower()
    host, colon, port = authority.rpartition(":")
    return (host if colon and port.isdigit() else authority).lower()


def _description(item: NoticeItem, hotline: Hotline) -> str:
    text = (
        f"Case {item.reference}: confirmed as child sexual abuse material by analysts of "
        f"{hotline.name}."
    )
    if item.report_ids:
        source = f" via {item.source}" if item.source else ""
        text += f" Public reports{source}: {', '.join(item.report_ids)}."
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def report_for(item: NoticeItem, hotline: Hotline, notice_id: str) -> dict[str, Any]:
    """The X-ARF v4 ``content/csam`` report for one URL, as a plain dict ready for JSON."""
    host = url_host(item.url) or item.url
    contact = {"org": hotline.name, "contact": hotline.reply_to, "domain": hotline.mail_domain}
    sender = {"org": hotline.name, "contact": hotline.from_address, "domain": hotline.mail_domain}
    confirmed = _timestamp(item.confirmed_at)
    report: dict[str, Any] = {
        "xarf_version": xarf_lib.SPEC_VERSION,
        "report_id": stable_report_id(notice_id, item),
        "timestamp": confirmed,
        "reporter": contact,
        "sender": sender,
        "source_identifier": host,
        "category": "content",
        "type": "csam",
        "url": item.url,
        "classification": item.classification,
        "detection_method": "manual_review",
        "verification_method": "manual",
        "verified_at": confirmed,
        "evidence_source": "user_report",
        "description": _description(item, hotline),
    }
    if _DOMAIN.match(host):
        report["domain"] = host
    if item.content_sha256:
        report["hash_values"] = {"sha256": item.content_sha256}
    if item.asn:
        report["asn"] = item.asn
    if item.hosting_country:
        report["country_code"] = item.hosting_country
    if item.network_name:
        report["hosting_provider"] = item.network_name[:MAX_HOSTING_PROVIDER]
    tags = [f"case:{item.reference.lower()}"]
    if item.source:
        tags.append(f"portal:{item.source}")
    report["tags"] = [tag for tag in tags if _TAG.match(tag)]
    return report


def xarf_attachments(
    notice: PlannedNotice, hotline: Hotline, notice_id: str, *, validate: bool = False
) -> tuple[XarfAttachment, ...]:
    """One attachment per URL of ``notice``, checked against the ``xarf`` typed model.

    With ``validate=True`` each report also passes the full X-ARF JSON-Schema validation, and
    :class:`XarfInvalid` is raised on the first failure.
    """
    attachments = []
    for number, item in enumerate(notice.items, start=1):
        report = report_for(item, hotline, notice_id)
        # The package's typed model refuses a report that lacks a required csam field.
        xarf_lib.CsamReport.model_validate(report)
        # Compact: the C encoder is ten times faster than the indenting one, and machines read it.
        data = json.dumps(report, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        if validate:
            problems = validate_report(data)
            if problems:
                raise XarfInvalid(f"{item.reference} {item.url}: {'; '.join(problems)}")
        filename = f"xarf-{item.reference}-{number}.json"
        attachments.append(XarfAttachment(filename, report["report_id"], data))
    return tuple(attachments)


def validate_report(data: bytes | str) -> list[str]:
    """Problems the ``xarf`` package finds in one serialised report; empty means valid.

    Unknown-field warnings count as problems: our reports use only fields the schema defines.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        result = xarf_lib.parse(text)
    except xarf_lib.XARFParseError as exc:
        return [str(exc)]
    problems = [f"{e.field or '(report)'}: {e.message}" for e in result.errors]
    problems += [f"{w.field or '(report)'}: {w.message}" for w in result.warnings]
    if not isinstance(result.report, xarf_lib.CsamReport):
        problems.append("(report): not parsed as a content/csam report")
    return problems
