"""The default column layout of the collection handover CSV (fields of a typical German
collection agency import: creditor, debtor, one claim per row, dunning history)."""

from django.db import migrations

COLUMNS = [
    ("Glaeubiger", "creditor.name"),
    ("GlaeubigerAnschrift", "creditor.address"),
    ("Anrede", "debtor.salutation"),
    ("Firma", "debtor.company"),
    ("Name", "debtor.name"),
    ("Strasse", "debtor.street"),
    ("PLZ", "debtor.postcode"),
    ("Ort", "debtor.city"),
    ("Land", "debtor.country"),
    ("Email", "debtor.email"),
    ("Telefon", "debtor.phone"),
    ("KundenNr", "customer.number"),
    ("RechnungsNr", "invoice.number"),
    ("Rechnungsdatum", "invoice.date"),
    ("Faelligkeit", "invoice.due_date"),
    ("Hauptforderung", "claim.original"),
    ("Bezahlt", "claim.paid"),
    ("Offen", "claim.open"),
    ("Waehrung", "claim.currency"),
    ("Forderungsgrund", "claim.reason"),
    ("Verzug seit", "claim.default_since"),
    ("Zinssatz", "claim.interest_rate"),
    ("Zinsen", "dunning.interest"),
    ("Mahndatum", "dunning.last_notice_date"),
    ("Mahngebuehren", "dunning.fees"),
    ("Sonstige Kosten", "claim.other_costs"),
    ("Bestritten", "claim.disputed"),
    ("Ruecklastschriftgrund", "claim.return_reason"),
]


def add(apps, schema_editor):
    Layout = apps.get_model("dunning", "CollectionExportLayout")
    Layout.objects.get_or_create(
        name="Standard",
        defaults={
            "is_default": True,
            "columns": [{"header": h, "field": f, "format": ""} for h, f in COLUMNS],
        },
    )


def remove(apps, schema_editor):
    Layout = apps.get_model("dunning", "CollectionExportLayout")
    Layout.objects.filter(name="Standard", exports__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("dunning", "0006_collection")]

    operations = [migrations.RunPython(add, remove)]
