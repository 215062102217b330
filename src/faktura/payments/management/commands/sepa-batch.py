"""`faktura sepa-batch`: the hyphenated name of the `sepa_batch` command."""

from faktura.payments.management.commands.sepa_batch import Command

__all__ = ["Command"]
