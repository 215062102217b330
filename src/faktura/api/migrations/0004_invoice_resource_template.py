from django.db import migrations


class Migration(migrations.Migration):
    """The stored form is a %-template now; rows of the older form carry an older version
    and are replaced at their next read (``api.invoice_reads``)."""

    dependencies = [
        ("api", "0003_invoice_resource"),
    ]

    operations = [
        migrations.RenameField(
            model_name="invoiceresource",
            old_name="marked_json",
            new_name="template",
        ),
    ]
