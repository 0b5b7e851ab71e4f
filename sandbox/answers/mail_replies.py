"""What the world's mailboxes send back: delivery status notifications in the formats real
MTAs write (Postfix's RFC 3464 report, Exim's plain bounce), a ticket system's automatic
acknowledgement, and people's replies that quote the notice.

Written here from scratch as the other side of the wire: the engine's reader must cope with
them as it would with mail from the internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate, make_msgid


@dataclass(frozen=True, slots=True)
class Original:
    """The notice being answered: enough of it to quote and to thread on."""

    sender: str  # the envelope sender, where bounces go
    reply_to: str  # where people and ticket systems answer
    recipient: str
    subject: str
    message_id: str
    date: str
    header_block: str  # its header lines, as a bounce returns them
    first_lines: tuple[str, ...]


def _fold(subject: str) -> str:
    return subject.replace("\r", " ").replace("\n", " ")


def postfix_dsn(original: Original, mx_host: str, relay: str, at: float) -> bytes:
    """Postfix's multipart/report: the human part, the delivery-status, the returned headers."""
    queue_id = make_msgid().strip("<>").split(".")[0][-12:].upper()
    boundary = f"{queue_id}.{int(at)}/{relay}"
    failed = original.recipient
    text = f"""Return-Path: <>
Date: {formatdate(at)}
From: MAILER-DAEMON@{relay} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {original.sender}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: {make_msgid(domain=relay)}

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host {relay}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{failed}>: host {mx_host}[127.0.0.1] said: 550 5.1.1 <{failed}>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply
    to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {relay}
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {original.sender}
Arrival-Date: {original.date}

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: failed
Status: 5.1.1
Remote-MTA: dns; {mx_host}
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User
    unknown in virtual mailbox table

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{original.header_block}
--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("utf-8")


def exim_bounce(original: Original, mx_host: str, relay: str, at: float) -> bytes:
    """Exim's bounce: plain text, X-Failed-Recipients, the returned message inline."""
    failed = original.recipient
    quoted = "\n".join(original.first_lines)
    text = f"""Return-path: <>
X-Failed-Recipients: {failed}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@{relay}>
To: {original.sender}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: {make_msgid(domain=relay)}
Date: {formatdate(at)}

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {failed}
    host {mx_host} [127.0.0.1]
    SMTP error from remote mail server after RCPT TO:<{failed}>:
    550 5.1.1 <{failed}>: mailbox unavailable

------ This is a copy of the message, including all the headers. ------

{original.header_block}
{quoted}
"""
    return text.replace("\n", "\r\n").encode("utf-8")


def _reply_headers(original: Original, sender: str, name: str, subject: str, at: float) -> str:
    domain = sender.partition("@")[2] or "sandbox.example"
    return (
        f"From: {name} <{sender}>\n"
        f"To: {original.reply_to}\n"
        f"Subject: {subject}\n"
        f"Date: {formatdate(at)}\n"
        f"Message-ID: {make_msgid(domain=domain)}\n"
        f"In-Reply-To: {original.message_id}\n"
        f"References: {original.message_id}\n"
    )


def auto_ack(original: Original, sender: str, name: str, ticket: str, at: float) -> bytes:
    """A ticket system's acknowledgement: RFC 3834 headers, the ticket in the subject."""
    subject = f"[{ticket}] Re: {_fold(original.subject)}"
    text = (
        _reply_headers(original, f"noreply@{sender.partition('@')[2]}", name, subject, at)
        + "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nPrecedence: bulk\n"
        + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        + f"Thank you for your report. This is an automatic acknowledgement: your\n"
        f"message has been received by the {name} abuse team and filed as\n"
        f"[{ticket}]. Please keep this reference in the subject of any reply.\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8")


def person_reply(original: Original, sender: str, name: str, words: str, at: float) -> bytes:
    """A person's reply above the quoted notice."""
    quoted = "\n".join(f"> {line}".rstrip() for line in original.first_lines)
    text = (
        _reply_headers(original, sender, name, f"RE: {_fold(original.subject)}", at)
        + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        + f"{words}\n\nRegards,\n{name} abuse team\n\n"
        + f"On {original.date}, {original.reply_to} wrote:\n{quoted}\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8")


REMOVED_WORDS = (
    "Hello,\n\nThank you for the report. We have removed the content and closed the account."
)
NOT_OUR_CUSTOMER_WORDS = (
    "Hello,\n\nThis is not our customer: the address is announced by a downstream network.\n"
    "Please contact their abuse desk instead."
)
