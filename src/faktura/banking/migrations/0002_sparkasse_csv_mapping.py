"""The column mapping of the Sparkasse "CSV-CAMT V2" export, ready to choose at import."""

from django.db import migrations

NAME = "Sparkasse CSV-CAMT V2"
# Frozen copy of faktura.banking.statements.csv_import.SPARKASSE_CSV_CAMT (fields that
# differ from CsvMapping's defaults); a migration never imports live code.
MAPPING = {
    "delimiter": ";",
    "encoding": "cp1252",
    "decimal_separator": ",",
    "date_format": "%d.%m.%y",
    "booking_date": "Buchungstag",
    "value_date": "Valutadatum",
    "amount": "Betrag",
    "currency": "Waehrung",
    "account_iban": "Auftragskonto",
    "counterparty_name": "Beguenstigter/Zahlungspflichtiger",
    "counterparty_iban": "Kontonummer/IBAN",
    "counterparty_bic": "BIC (SWIFT-Code)",
    "remittance": ["Verwendungszweck"],
    "end_to_end_id": "Kundenreferenz (End-to-End)",
    "mandate_reference": "Mandatsreferenz",
    "batch_reference": "Sammlerreferenz",
    "posting_text": "Buchungstext",
    "original_amount": "Lastschrift Ursprungsbetrag",
    "return_fee": "Auslagenersatz Ruecklastschrift",
    "status": "Info",
}


def create(apps, schema_editor):
    profile = apps.get_model("banking", "CsvMappingProfile")
    profile.objects.get_or_create(
        name=NAME, defaults={"bank": "Sparkasse", "mapping": {"name": NAME, **MAPPING}}
    )


class Migration(migrations.Migration):
    dependencies = [("banking", "0001_initial")]

    # Going back keeps the profile (its table stays): deleting it would lose the changes a
    # user made to it and, on the way forward again, give it a new id that imports name.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
