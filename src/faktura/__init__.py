"""Faktura: invoicing, payments and dunning for German and EU businesses."""
