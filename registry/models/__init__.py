"""The models of the system of record; importing this module registers them all."""

from registry.models.audit import AuditEntry
from registry.models.cache import CacheEntry
from registry.models.case import Case, CaseEvent, case_reference
from registry.models.check import Check
from registry.models.domain import AbusiveDomain
from registry.models.inbound import DeadAddress, InboundMail
from registry.models.notice import Notice, NoticePdf, notice_cases
from registry.models.organisation import Contact, Organisation, Partner
from registry.models.report import Report
from registry.models.resolution import Evidence, Resolution
from registry.models.throttle import SignInFailure
from registry.models.user import ApiToken, User
from registry.models.web_session import WebSession

__all__ = [
    "AbusiveDomain",
    "ApiToken",
    "AuditEntry",
    "CacheEntry",
    "Case",
    "CaseEvent",
    "Check",
    "Contact",
    "DeadAddress",
    "Evidence",
    "InboundMail",
    "Notice",
    "NoticePdf",
    "Organisation",
    "Partner",
    "Report",
    "Resolution",
    "SignInFailure",
    "User",
    "WebSession",
    "case_reference",
    "notice_cases",
]
