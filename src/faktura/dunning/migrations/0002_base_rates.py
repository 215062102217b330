"""The base rates of § 247 BGB (Basiszinssatz), as published by the Deutsche Bundesbank.

Verified against the Bundesbank's release of 24.12.2025: 1.27 % from 2025-07-01, unchanged
from 2026-01-01. The earlier values (2023-01-01 1.62, 2023-07-01 3.12, 2024-01-01 3.62,
2024-07-01 3.37, 2025-01-01 2.27) are NOT verified here: check them against the
Bundesbank's table before charging interest for days before 2025-07-01.

A new base rate (every 1 January and 1 July) is added by a new migration like this one.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

RATES = [
    (dt.date(2023, 1, 1), Decimal("1.62")),
    (dt.date(2023, 7, 1), Decimal("3.12")),
    (dt.date(2024, 1, 1), Decimal("3.62")),
    (dt.date(2024, 7, 1), Decimal("3.37")),
    (dt.date(2025, 1, 1), Decimal("2.27")),
    (dt.date(2025, 7, 1), Decimal("1.27")),
    (dt.date(2026, 1, 1), Decimal("1.27")),
]


def add_rates(apps, schema_editor):
    BaseRate = apps.get_model("dunning", "BaseRate")
    for valid_from, rate in RATES:
        BaseRate.objects.update_or_create(valid_from=valid_from, defaults={"rate": rate})


def remove_rates(apps, schema_editor):
    BaseRate = apps.get_model("dunning", "BaseRate")
    BaseRate.objects.filter(valid_from__in=[d for d, _ in RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]

    operations = [migrations.RunPython(add_rates, remove_rates)]
