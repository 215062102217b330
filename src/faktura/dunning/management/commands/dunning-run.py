"""`faktura dunning-run`: the hyphenated name of the `dunning_run` command."""

from faktura.dunning.management.commands.dunning_run import Command

__all__ = ["Command"]
