from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "faktura.subscriptions"
    label = "subscriptions"
    verbose_name = _("Abonnements")

    def ready(self) -> None:
        from faktura.core.integrity import EXTRA_CHECKS
        from faktura.subscriptions.integrity import billing_run_problems

        if billing_run_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(billing_run_problems)
