"""``python -m chargeledger`` runs the command line."""

from chargeledger.cli import main

main()
