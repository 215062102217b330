"""`faktura print-batch [--date YYYY-MM-DD]`: the day's letters for the post, once.

Joins the archived documents of customers with delivery by post that no batch holds yet
into one duplex-ready PDF (documents.print_batch). Running it again makes nothing new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.documents.print_batch import create_print_batch


class Command(BaseCommand):
    help = "Make the print batch (letters by post) of a date, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Batch date YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            on = clock.today()
        try:
            batch = create_print_batch(on=on, actor=Actor.system("print-batch"))
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        if batch is None:
            self.stdout.write(f"Kein Dokument für den Briefversand bis {on:%d.%m.%Y}.")
            return
        self.stdout.write(
            f"{batch.filename}: {batch.document_count} Dokumente, {batch.sheet_count} Blatt "
            f"({batch.file.name})"
        )
