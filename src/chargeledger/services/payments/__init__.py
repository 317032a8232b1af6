"""Payments: PSP operations (card holds, captures, refunds), stored cards, wallets and their
credit control, checkout, webhooks and the janitor (DESIGN §5).

Modules whose name starts with ``_`` are this package's internals: other packages use the
public modules only (``tests/unit/test_import_structure.py``)."""
