"""Where deliveries go out: mail by SMTP (or into a folder when no server is configured), and
text messages through an interface that only logs for now.

A sender either returns (the server accepted the message) or raises `TemporaryFailure` (try
again later: the server is away, or said 4xx) or `PermanentFailure` (5xx: it never will).
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from uuid import UUID

from services.notify.config import NotifySettings

log = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmsSender(Protocol):
    async def send(self, number: str, text: str) -> None: ...


def mail_message(
    settings: NotifySettings, *, delivery_id: UUID, to: str, subject: str, body: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=str(delivery_id), domain="sciplan.local")
    message["X-SciPlan-Delivery"] = str(delivery_id)
    message.set_content(body, charset="utf-8")
    return message


class SmtpSender:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        import aiosmtplib  # on first mail: start-up stays cheap

        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=password,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(text) from exc
            raise TemporaryFailure(text) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


class FolderSender:
    """Without a mail server (local `make run`): each mail becomes a .eml file in a folder
    (`sciplan mail` lists and shows them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        delivery = str(message["X-SciPlan-Delivery"])
        await asyncio.to_thread(self._write, delivery, message.as_bytes())

    def _write(self, name: str, content: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{name}.partial"
        partial.write_bytes(content)
        partial.replace(self.folder / f"{name}.eml")  # whole or not at all


class LoggingSmsSender:
    """No SMS gateway is contracted yet: the text is logged (without the number's middle)."""

    async def send(self, number: str, text: str) -> None:
        masked = number[:3] + "****" + number[-4:] if len(number) > 7 else "****"
        log.info("sms to %s: %s", masked, text)


def mail_sender(settings: NotifySettings) -> MailSender:
    if settings.smtp_host:
        return SmtpSender(settings)
    return FolderSender(Path(settings.mail_dir))
