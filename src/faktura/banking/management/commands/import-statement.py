"""`faktura import-statement`: the hyphenated name of the `import_statement` command."""

from faktura.banking.management.commands.import_statement import Command

__all__ = ["Command"]
