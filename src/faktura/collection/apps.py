from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionConfig(AppConfig):
    name = "faktura.collection"
    label = "collection"
    verbose_name = _("SEPA-Lastschriften")

    def ready(self) -> None:
        from faktura.collection.integrity import bank_file_problems
        from faktura.core.integrity import EXTRA_CHECKS

        # The registry of `faktura check`; guarded so a second ready() adds nothing.
        if bank_file_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(bank_file_problems)
