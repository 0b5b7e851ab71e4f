"""A real SMTP relay (aiosmtpd) on 127.0.0.1 for the transport tests, on its own loop thread."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    connection: int


@dataclass
class MailboxBehaviour:
    """How the loopback relay treats the mail it receives."""

    refuse: dict[str, str] = field(default_factory=dict)
    """recipient -> reply to RCPT (e.g. '450 4.2.1 Mailbox busy')."""
    drop_connection_on_message: set[int] = field(default_factory=set)
    """1-based counts of DATA commands on which the relay drops the connection instead."""
    vanish_on_message: int | None = None
    """On this DATA command the relay stops listening and drops every session: it goes away."""


class RecordingHandler:
    def __init__(self, behaviour: MailboxBehaviour) -> None:
        self.behaviour = behaviour
        self.received: list[ReceivedMail] = []
        self.connections = 0
        self.data_commands = 0
        self.lock = threading.Lock()
        self.on_vanish: Callable[[], None] | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.behaviour.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.data_commands += 1
            count = self.data_commands
        if count == self.behaviour.vanish_on_message and self.on_vanish is not None:
            self.on_vanish()
            return "421 4.3.0 gone"
        if count in self.behaviour.drop_connection_on_message:
            transport = server.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
            return "421 4.3.0 gone"
        data = envelope.original_content or b""
        with self.lock:
            self.received.append(
                ReceivedMail(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    data,
                    server.peer_number,  # type: ignore[attr-defined]
                )
            )
        return f"250 2.0.0 Ok: queued as Q{count}"


class LoopbackRelay:
    """An aiosmtpd relay on 127.0.0.1 with a free port, run on its own event-loop thread."""

    def __init__(
        self,
        behaviour: MailboxBehaviour | None = None,
        *,
        credentials: tuple[str, str] | None = None,
        starttls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = RecordingHandler(behaviour or MailboxBehaviour())
        self.handler.on_vanish = self._vanish_now
        self._credentials = credentials
        self._starttls = starttls_context
        self._implicit_tls = implicit_tls_context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._sessions: list[SMTP] = []
        self.port = 0

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials
        )
        return AuthResult(success=ok, handled=False)

    def _protocol(self) -> SMTP:
        handler = self.handler
        with handler.lock:
            handler.connections += 1
        options: dict[str, Any] = {"hostname": "relay.test", "ident": "loopback relay"}
        if self._credentials is not None:
            # AUTH without TLS is only for loopback tests; aiosmtpd warns if it is also required.
            with_tls = self._starttls is not None
            options.update(
                authenticator=self._authenticate,
                auth_required=with_tls,
                auth_require_tls=with_tls,
            )
        if self._starttls is not None:
            options.update(tls_context=self._starttls, require_starttls=True)
        smtp = SMTP(handler, **options)
        smtp.peer_number = handler.connections  # type: ignore[attr-defined]
        self._sessions.append(smtp)
        return smtp

    def start(self) -> LoopbackRelay:
        self._thread.start()
        create = self._loop.create_server(
            self._protocol, host="127.0.0.1", port=0, ssl=self._implicit_tls
        )
        self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _vanish_now(self) -> None:
        """Called on the relay's own loop: stop listening and abort every session at once."""
        if self._server is not None:
            self._server.close()
        for session in self._sessions:
            if isinstance(session.transport, asyncio.Transport):
                session.transport.abort()

    def stop_listening(self) -> None:
        """Close the listening socket and abort every open session: the relay goes away."""
        server, self._server = self._server, None
        if server is None:
            return

        async def shut() -> None:
            server.close()
            for session in self._sessions:
                if isinstance(session.transport, asyncio.Transport):
                    session.transport.abort()
            await asyncio.wait_for(server.wait_closed(), 5)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)

    def close(self) -> None:
        self.stop_listening()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
