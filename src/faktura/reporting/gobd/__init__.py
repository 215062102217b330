"""The GOBD export."""
