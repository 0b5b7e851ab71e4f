"""The models of the system of record; importing this module registers them all."""

from registry.models.audit import AuditEntry
from registry.models.case import Case, CaseEvent, case_reference
from registry.models.check import Check
from registry.models.notice import Notice, notice_cases
from registry.models.organisation import Contact, Organisation, Partner
from registry.models.report import Report
from registry.models.resolution import Evidence, Resolution

__all__ = [
    "AuditEntry",
    "Case",
    "CaseEvent",
    "Check",
    "Contact",
    "Evidence",
    "Notice",
    "Organisation",
    "Partner",
    "Report",
    "Resolution",
    "case_reference",
    "notice_cases",
]
