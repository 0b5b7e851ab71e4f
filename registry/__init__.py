"""The system of record: cases, reports, notices, checks, partners and the audit log."""
