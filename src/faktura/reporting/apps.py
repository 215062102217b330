from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "faktura.reporting"
    label = "reporting"
    verbose_name = _("Berichte")

    def ready(self) -> None:
        from faktura.core.integrity import EXTRA_CHECKS
        from faktura.reporting.integrity import kept_amount_problems

        if kept_amount_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(kept_amount_problems)
