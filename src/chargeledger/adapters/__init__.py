"""Adapters: the only place that imports SQLAlchemy or a provider SDK (DESIGN §3)."""
