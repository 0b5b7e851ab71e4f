"""SMTP for every mailbox of the world: unknown recipients get 550, the rest is kept."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from sandbox.faults import Fault, FaultInjector
from sandbox.mailstore import Mailstore

HOSTNAME = "mx.sandbox.example"
DATA_SIZE_LIMIT = 10 << 20


class MailboxHandler:
    """aiosmtpd handler: checks recipients against the world and delivers to the mailstore."""

    def __init__(self, store: Mailstore, faults: FaultInjector) -> None:
        self.store = store
        self.faults = faults

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept world mailboxes only."""
        if not self.store.accepts(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Keep the message (or fail it, as the fault plan says)."""
        fault = self.faults.draw()
        await self.faults.delay()
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(self.faults.plan.hold)
            return "451 4.4.2 timed out"
        if fault is Fault.RATE_LIMIT:
            return "421 4.7.0 too many messages, try again later"
        if fault is Fault.REFUSE:
            return "554 5.7.1 message refused"
        raw = envelope.original_content or b""
        message = self.store.deliver(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return f"250 2.0.0 OK queued as {message.id}"


class SmtpServer:
    """The world's mail exchanger on one loopback port."""

    def __init__(self, store: Mailstore, faults: FaultInjector) -> None:
        self.handler = MailboxHandler(store, faults)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _session(self) -> SMTP:
        smtp = SMTP(
            self.handler,
            hostname=HOSTNAME,
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(smtp)
        return smtp

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; return the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, host, port, reuse_address=True)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end every open session."""
        if self._server is None:
            return
        self._server.close()
        tasks: list[Any] = []
        for session in list(self._sessions):
            transport = getattr(session, "transport", None)
            if transport is not None:
                transport.close()
            task = getattr(session, "_handler_coroutine", None)
            if task is not None:
                tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
