"""The audit chain's key and files (issue 15); its storage is in ``adapters/db``."""
