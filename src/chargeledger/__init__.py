"""chargeledger: billing and payments back office for EV charging station operators."""

__version__ = "0.1.0"
