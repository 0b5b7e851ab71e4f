"""Replies: messages from the inbound mailbox stored once, matched to a case, and acted on."""
