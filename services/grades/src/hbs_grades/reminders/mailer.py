"""E-mail for the board's reminders: plain SMTP (stdlib) in a worker thread, or nothing at all
when no SMTP host is configured (the reminder is then shown in the portal only)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from typing import Protocol

from hbs_grades.settings import GradesSettings

UNFOLDED = SMTP.clone(max_line_length=998)


class Mailer(Protocol):
    @property
    def configured(self) -> bool:
        """False: reminders stay in the portal only."""
        ...

    async def send(self, to: str, subject: str, body: str) -> None:
        """Raises on failure (the reminder keeps the reason and is tried again later)."""
        ...


class NoMailer:
    configured = False

    async def send(self, to: str, subject: str, body: str) -> None:
        raise RuntimeError("SMTP is not configured")


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    tls: str = "none"
    timeout: float = 10.0
    configured: bool = True

    @classmethod
    def from_settings(cls, settings: GradesSettings) -> Mailer:
        if not settings.smtp_host:
            return NoMailer()
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, to: str, subject: str, body: str) -> None:
        # Unfolded headers: Python's folding of a long encoded Vietnamese subject can lose a space.
        message = EmailMessage(policy=UNFOLDED)
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.tls == "starttls":
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)
