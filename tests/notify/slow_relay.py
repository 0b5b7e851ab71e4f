"""A loopback relay that can be restarted on the same port and answers DATA slowly."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.notices.relay import LoopbackRelay, MailboxBehaviour, RecordingHandler


class SlowHandler(RecordingHandler):
    """Takes ``delay`` seconds over each message, so a batch takes a while."""

    def __init__(self, behaviour: MailboxBehaviour, delay: float) -> None:
        super().__init__(behaviour)
        self.delay = delay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


class RestartableRelay(LoopbackRelay):
    """:class:`LoopbackRelay` that can stop listening and come back on the same port."""

    def __init__(self, delay: float = 0.0, behaviour: MailboxBehaviour | None = None) -> None:
        super().__init__(behaviour)
        if delay:
            self.handler = SlowHandler(behaviour or MailboxBehaviour(), delay)
            self.handler.on_vanish = self._vanish_now

    def start(self) -> RestartableRelay:
        super().start()
        return self

    def listen(self, port: int) -> None:
        """Listen again on ``port`` (after :meth:`stop_listening`)."""
        create = self._loop.create_server(self._protocol, host="127.0.0.1", port=port)
        self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(timeout=10)
        self.port = port

    def message_ids(self) -> list[str]:
        """The Message-ID of every message received, in order."""
        found = []
        with self.handler.lock:
            received = list(self.handler.received)
        for mail in received:
            head = mail.data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
            for line in head.split("\r\n"):
                if line.lower().startswith("message-id:"):
                    found.append(line.split(":", 1)[1].strip())
        return found
