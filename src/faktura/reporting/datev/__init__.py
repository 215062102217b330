"""The DATEV export."""
