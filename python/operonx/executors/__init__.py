"""Where an op's call runs (the executor contract lives here)."""
