"""E-mail through an SMTP relay with aiosmtplib (asyncio-native: a slow relay never blocks
the event loop that answers stations). RFC 5321 reply codes: 4xx is a transient failure
(tried again later), 5xx a permanent one (the message goes to the dead letters at once)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from chargeledger.services.notifications.ports import DeliveryFailedError, Mail


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "chargeledger@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout_seconds: float = 60.0


def email_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(mail.text)
    for file in mail.attachments:
        main, _, sub = file.mime_type.partition("/")
        message.add_attachment(file.content, maintype=main, subtype=sub, filename=file.filename)
    return message


class SmtpMailer:
    """The ``MailSender`` port over one relay; a connection per mail (mails are few)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        config = self.settings
        try:
            errors, _ = await aiosmtplib.send(
                email_message(mail, config.sender),
                hostname=config.host,
                port=config.port,
                username=config.user,
                password=config.password,
                start_tls=config.starttls,
                timeout=config.timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise DeliveryFailedError(
                f"SMTP {exc.code} {exc.message}", permanent=permanent
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailedError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        if errors:  # a recipient refused while others were accepted (we send to one)
            raise DeliveryFailedError(f"SMTP refused: {errors}", permanent=True)
