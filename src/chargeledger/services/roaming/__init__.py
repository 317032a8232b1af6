"""Roaming over OCPI 2.2.1 (issue 18): partners, the credentials handshake, the CPO modules."""
