"""A real SMTP server (aiosmtpd) in the test process: it keeps what it accepts, and can be
stopped and started again (an outage) or told to refuse every recipient for good (550)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mailbox:
    """What the test's SMTP server accepted; `refuse` makes it answer 550 to every recipient."""

    received: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """aiosmtpd on a fixed port, stopped and started again by the outage test."""

    port: int
    mailbox: Mailbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=_free_port(), mailbox=Mailbox())
    server.start()
    try:
        yield server
    finally:
        server.stop()
