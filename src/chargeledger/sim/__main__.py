"""``python -m chargeledger.sim run ...``"""

from chargeledger.sim.cli import main

raise SystemExit(main())
