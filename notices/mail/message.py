"""A planned notice as an RFC 5322 message, with the bytes and hash kept as evidence.

Header sources, and why each is safe:

- ``From``/``Reply-To``: the directory, validated when it was loaded (:mod:`notices.directory`);
- ``To``: the recipient address, validated again here (it may have round-tripped through the
  outbox); the recipient's name is never put in a header, only in the body, as a template value;
- ``Subject``: our own phrase per kind and language plus case references that match
  ``[A-Z]{2,8}-[0-9]{1,12}``; no registry text;
- ``Message-ID``: ``<notice-<id>.<reference>@<domain of from_address>>``, stable, so a resend of
  the same notice is recognisable (and the ``.eml`` writer is idempotent);
- ``Date``: the instant passed in; ``Auto-Submitted: auto-generated`` (RFC 3834), so auto-replies
  are suppressed.

:mod:`notices.mail.mime` re-checks every header value before writing it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache

from notices.directory import Directory
from notices.kinds import ROLE_CARRIES_XARF, NoticeKind, Role
from notices.mail.addresses import validate_address
from notices.mail.mime import MimeAttachment, build_notice_mime
from notices.render import NoticeRenderer
from notices.routing import PlannedNotice
from notices.xarf import XARF_CONTENT_TYPE, XarfAttachment, xarf_attachments

_NOTICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


class InvalidNoticeId(ValueError):
    """A notice id must be 1-64 letters, digits or hyphens, starting with a letter or digit."""


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    """A notice ready to send, and the evidence of exactly what was sent."""

    notice_id: str
    message_id: str
    """``<notice-123.TD-000123@hotline.example>``, angle brackets included."""
    kind: NoticeKind
    role: Role
    envelope_from: str
    recipient: str
    subject: str
    language: str
    fallback_language: bool
    text: str
    html: str
    xarf: tuple[XarfAttachment, ...]
    raw: bytes
    """The complete message, CRLF line endings, as handed to the transport."""
    sha256: str
    """Hex SHA-256 of ``raw``: what the evidence record stores."""

    def email_message(self) -> EmailMessage:
        """The message parsed with ``email.policy.default`` (for inspection and tests)."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # guaranteed by policy.default
        return parsed


@lru_cache(maxsize=256)  # a batch is usually composed with one "now"
def _date_header(now: datetime) -> str:
    return format_datetime(now)


def message_id_for(notice_id: str, reference: str, domain: str) -> str:
    """The stable Message-ID of a notice."""
    return f"<notice-{notice_id}.{reference}@{domain}>"


class NoticeComposer:
    """Builds complete messages from planned notices; create once and reuse."""

    def __init__(
        self,
        directory: Directory,
        renderer: NoticeRenderer | None = None,
        *,
        validate_xarf: bool = False,
    ) -> None:
        self.directory = directory
        self.renderer = renderer or NoticeRenderer()
        self.validate_xarf = validate_xarf
        """Run the full X-ARF JSON-Schema validation on every report (a few ms each)."""
        hotline = directory.hotline
        self._from = formataddr((hotline.name, hotline.from_address))

    def compose(self, notice: PlannedNotice, notice_id: str | int, now: datetime) -> RenderedNotice:
        """Render ``notice`` as the message with id ``notice_id``, dated ``now`` (time-zone aware).

        Raises :class:`InvalidNoticeId`, :class:`notices.mail.addresses.InvalidAddress`,
        :class:`notices.render.TemplateMissing` or :class:`notices.mail.mime.HeaderInjection`.
        """
        nid = str(notice_id)
        if not _NOTICE_ID.match(nid):
            raise InvalidNoticeId(f"not a usable notice id: {nid[:70]!r}")
        if now.tzinfo is None:
            raise ValueError("now must carry a time zone")
        hotline = self.directory.hotline
        recipient = validate_address(notice.recipient_address)
        bodies = self.renderer.render(notice, hotline)
        reports: tuple[XarfAttachment, ...] = ()
        if notice.role in ROLE_CARRIES_XARF:
            reports = xarf_attachments(notice, hotline, nid, validate=self.validate_xarf)
        message_id = message_id_for(nid, notice.references[0], hotline.mail_domain)
        encoded = [
            ("From", self._from),
            ("Reply-To", hotline.reply_to),
            ("To", recipient),
            ("Date", _date_header(now)),
            ("Message-ID", message_id),
            ("Auto-Submitted", "auto-generated"),
            ("Content-Language", bodies.language),
        ]
        raw = build_notice_mime(
            headers=[("Subject", bodies.subject)],
            encoded_headers=encoded,
            text=bodies.text,
            html=bodies.html,
            attachments=[MimeAttachment(r.filename, XARF_CONTENT_TYPE, r.data) for r in reports],
            boundary_token=hashlib.sha256(message_id.encode("ascii")).hexdigest()[:24],
        )
        return RenderedNotice(
            notice_id=nid,
            message_id=message_id,
            kind=notice.kind,
            role=notice.role,
            envelope_from=hotline.from_address,
            recipient=recipient,
            subject=bodies.subject,
            language=bodies.language,
            fallback_language=bodies.fallback,
            text=bodies.text,
            html=bodies.html,
            xarf=reports,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
        )
