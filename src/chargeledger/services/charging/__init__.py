"""Charging: stations, their messages and sessions, from authorisation through capture,
review and pricing (DESIGN §2 exactly once).

Modules whose name starts with ``_`` are this package's internals: other packages use the
public modules only (``tests/unit/test_import_structure.py``)."""
