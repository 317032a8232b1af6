"""Deliveries of the outbox to the outside world: SMTP (aiosmtplib) and webhooks (httpx)."""
