from decimal import Decimal

from django.db import migrations

# German defaults (UStG) with their EN 16931 categories and exemption texts.
DEFAULTS = [
    ("de-19", "19 % USt", "S", Decimal("19.00"), "", ""),
    ("de-7", "7 % USt (ermäßigt)", "S", Decimal("7.00"), "", ""),
    ("de-0", "0 % USt (Nullsatz, § 12 Abs. 3 UStG)", "Z", Decimal("0.00"), "", ""),
    (
        "de-kleinunternehmer", "Kleinunternehmer (§ 19 UStG)", "E", Decimal("0.00"),
        "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.", "",
    ),
    (
        "de-reverse-charge", "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG)", "AE",
        Decimal("0.00"), "Steuerschuldnerschaft des Leistungsempfängers", "VATEX-EU-AE",
    ),
    (
        "eu-intra-community", "Innergemeinschaftliche Lieferung (§ 4 Nr. 1b UStG)", "K",
        Decimal("0.00"), "Steuerfreie innergemeinschaftliche Lieferung", "VATEX-EU-IC",
    ),
    (
        "export", "Ausfuhrlieferung (§ 4 Nr. 1a UStG)", "G", Decimal("0.00"),
        "Steuerfreie Ausfuhrlieferung", "VATEX-EU-G",
    ),
]


def create_rates(apps, schema_editor):
    TaxRate = apps.get_model("catalog", "TaxRate")
    for code, name, category, rate, reason, reason_code in DEFAULTS:
        TaxRate.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "category": category, "rate": rate,
                "exemption_reason": reason, "exemption_reason_code": reason_code,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(create_rates, migrations.RunPython.noop)]
