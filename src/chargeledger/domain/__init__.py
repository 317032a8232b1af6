"""The pure domain: frozen dataclasses and functions, no I/O (DESIGN §3)."""
