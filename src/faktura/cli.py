"""The `faktura` console script: Django's management with Faktura's settings."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["faktura", *sys.argv[1:]])


if __name__ == "__main__":
    main()
