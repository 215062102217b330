"""`faktura print-batch`: the hyphenated name of the `print_batch` command."""

from faktura.documents.management.commands.print_batch import Command

__all__ = ["Command"]
