"""Request and response bodies. Inputs forbid unknown fields so a typo is an error."""
