"""Figures, open items, aging and the accounting exports (DATEV, GoBD)."""
