"""`faktura purge-expired`: the hyphenated name of the `purge_expired` command."""

from faktura.reporting.management.commands.purge_expired import Command

__all__ = ["Command"]
