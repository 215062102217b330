from django.db import migrations

DEFAULTS = [
    ("invoice", "RE-{year}-{seq:05d}", True),
    ("credit_note", "GS-{year}-{seq:05d}", True),
    ("customer", "K{seq:05d}", False),
    ("dunning_notice", "MA-{year}-{seq:05d}", True),
]


def create_ranges(apps, schema_editor):
    NumberRange = apps.get_model("core", "NumberRange")
    for kind, pattern, yearly in DEFAULTS:
        NumberRange.objects.get_or_create(
            kind=kind, defaults={"pattern": pattern, "yearly_reset": yearly}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_ranges, migrations.RunPython.noop)]
