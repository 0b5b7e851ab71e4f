"""The audit log: appending entries (:mod:`.chain`), the key that MACs them (:mod:`.key`) and
checking the whole chain (:mod:`.verify`)."""

from registry.audit.chain import (
    GENESIS_HASH,
    AuditAction,
    append,
    entry_hash,
    recent_entries,
    record,
)
from registry.audit.key import AuditKey, configured_audit_key, new_audit_key
from registry.audit.verify import Anchor, ChainBreak, ChainReport, verify_chain

__all__ = [
    "GENESIS_HASH",
    "Anchor",
    "AuditAction",
    "AuditKey",
    "ChainBreak",
    "ChainReport",
    "append",
    "configured_audit_key",
    "entry_hash",
    "new_audit_key",
    "recent_entries",
    "record",
    "verify_chain",
]
