"""``faktura createapikey NAME [--user USERNAME] [--read-only]``: print a new key once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.api.keys import create_api_key
from faktura.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an API key acting as a staff user and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Name of the key, e.g. shop (audit log: api:shop)")
        parser.add_argument(
            "--user", help="Username the key acts as (default: the first superuser)"
        )
        parser.add_argument(
            "--read-only", action="store_true", help="Only allow reading (no write scope)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        if options["user"]:
            user = users.filter(**{users.model.USERNAME_FIELD: options["user"]}).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        else:
            user = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if user is None:
                raise CommandError(
                    "No superuser exists: create one (faktura createsuperuser) or pass --user."
                )
        if not user.is_active:
            raise CommandError(f"The user {user.get_username()!r} is not active.")
        scopes = ["read"] if options["read_only"] else ["read", "write"]
        try:
            api_key, secret = create_api_key(name=options["name"], user=user, scopes=scopes)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"API key {api_key.name!r} for user {user.get_username()!r} "
            f"(scopes: {', '.join(api_key.scopes)}):"
        )
        self.stdout.write(secret)
        self.stdout.write("Store it now: it cannot be shown again (only its hash is kept).")
