"""Billing: charges of priced sessions, invoices, receipts and credit notes, the ledger and
its exports (DESIGN §2 price -> charge -> book).

Modules whose name starts with ``_`` are this package's internals: other packages use the
public modules only (``tests/unit/test_import_structure.py``)."""
