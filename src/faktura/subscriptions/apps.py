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
        from faktura.invoicing.services import BEFORE_DISCARD
        from faktura.subscriptions.run import release_discarded_draft

        if release_discarded_draft not in BEFORE_DISCARD:
            BEFORE_DISCARD.append(release_discarded_draft)
