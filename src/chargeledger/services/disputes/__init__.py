"""Dispute cases, chargebacks and their evidence (issue 15)."""
