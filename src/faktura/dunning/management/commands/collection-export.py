"""`faktura collection-export`: the hyphenated name of the `collection_export` command."""

from faktura.dunning.management.commands.collection_export import Command

__all__ = ["Command"]
