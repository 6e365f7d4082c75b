"""Repository checks run by `make lint` (not product code)."""
