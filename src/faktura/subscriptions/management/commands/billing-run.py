"""`faktura billing-run`: the hyphenated name of the `billing_run` command."""

from faktura.subscriptions.management.commands.billing_run import Command

__all__ = ["Command"]
