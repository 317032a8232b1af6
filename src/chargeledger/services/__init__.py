"""Use cases: each runs in a unit of work and commits explicitly (DESIGN §3)."""
