"""`faktura import-status-report`: the hyphenated name of the `import_status_report` command."""

from faktura.banking.management.commands.import_status_report import Command

__all__ = ["Command"]
