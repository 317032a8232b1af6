"""Notifications (issue 13): the transactional outbox and its delivery by e-mail and by
signed webhooks. Billing and payments announce events here; nothing here imports them."""
