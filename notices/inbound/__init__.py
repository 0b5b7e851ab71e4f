"""Inbound mail: what abuse desks and mail systems answer, read and classified; no database."""

from notices.inbound.classify import Classification, InboundClass, classify
from notices.inbound.keys import MatchKeys
from notices.inbound.message import Attachment, InboundMessage, MessageTooLarge, read_message

__all__ = [
    "Attachment",
    "Classification",
    "InboundClass",
    "InboundMessage",
    "MatchKeys",
    "MessageTooLarge",
    "classify",
    "read_message",
]
