"""Payment gateway adapters: the only place that imports a PSP's SDK (DESIGN §3)."""
