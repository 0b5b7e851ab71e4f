"""Reading what the sandbox's mailboxes received, as the tests compare it."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import xarf

from sandbox.testing import SandboxHandle
from tests.notify.world_notices import ExpectedMail


def received_messages(handle: SandboxHandle) -> list[tuple[str, dict[str, Any]]]:
    """Every message in every mailbox of the world, as (mailbox, message summary)."""
    boxes = handle.call(lambda sandbox: sandbox.inspection.service.mailboxes())  # type: ignore[union-attr]
    found = []
    for box in boxes:
        if box["messages"]:
            found += [(box["address"], m) for m in handle.mailbox(box["address"])]
    return found


def parsed(message: dict[str, Any]) -> EmailMessage:
    """A received message parsed by Python's ``email`` package."""
    result = email.message_from_string(message["raw"], policy=email.policy.default)
    assert isinstance(result, EmailMessage)
    return result


def xarf_reports(message: EmailMessage) -> list[bytes]:
    """The JSON attachments of a notice."""
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if part.get_content_type() == "application/json" and isinstance(payload, bytes):
            found.append(payload)
    return found


def as_expected(mailbox: str, message: dict[str, Any]) -> ExpectedMail:
    """What a received message amounts to, in the shape of the expectation."""
    parsed_message = parsed(message)
    return ExpectedMail(
        to=mailbox,
        language=str(parsed_message["Content-Language"]),
        urls=frozenset(message["urls"]),
        xarf=bool(xarf_reports(parsed_message)),
    )


def xarf_problems(report: bytes) -> list[str]:
    """What the ``xarf`` package finds wrong with one report (empty: valid content/csam)."""
    result = xarf.parse(report.decode("utf-8"))
    problems = [f"{e.field}: {e.message}" for e in result.errors]
    if not isinstance(result.report, xarf.CsamReport):
        problems.append("not a content/csam report")
    return problems
