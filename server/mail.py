"""Outgoing e-mail: real SMTP when SMTP_URL is set, otherwise .eml files in an outbox folder.

Logs say that a message went and to whom, never its subject or body (codes are secrets).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger("murmur.mail")


class MailError(Exception):
    """The message could not be handed to the mail server."""


class Mailer:
    def __init__(self, sender: str, smtp_url: str | None, outbox_dir: Path) -> None:
        self.sender = sender
        self.smtp_url = smtp_url
        self.outbox_dir = outbox_dir

    async def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@murmur>"
        msg.set_content(body)
        if self.smtp_url:
            try:
                await asyncio.to_thread(self._send_smtp, msg)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("mail to %s not sent: %r", to, exc)
                raise MailError(f"could not send mail to {to}") from exc
        else:
            await asyncio.to_thread(self._write_outbox, msg)

    async def notify(self, to: str, subject: str, body: str) -> None:
        """Send a notice whose failure must change no answer (logged, not raised)."""
        try:
            await self.send(to, subject, body)
        except MailError:
            log.warning("a notice to %s was not sent", to)

    def _send_smtp(self, msg: EmailMessage) -> None:
        """smtp://user:pass@host:port, smtps:// for implicit TLS, ?starttls=1 to upgrade."""
        url = urlsplit(self.smtp_url or "")
        host, port = url.hostname or "127.0.0.1", url.port
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port or 465, timeout=10)
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=10)
        with smtp:
            if "starttls=1" in url.query:
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)
        # Never the subject or the body: they may carry a one-time code.
        log.info("mail sent via SMTP to %s (%s)", msg["To"], msg["Message-ID"])

    def _write_outbox(self, msg: EmailMessage) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.outbox_dir / name).write_bytes(bytes(msg))
        log.info("mail to %s written to %s", msg["To"], self.outbox_dir / name)
