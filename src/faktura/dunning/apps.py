from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DunningConfig(AppConfig):
    name = "faktura.dunning"
    label = "dunning"
    verbose_name = _("Mahnwesen")

    def ready(self) -> None:
        from faktura.core.integrity import EXTRA_CHECKS
        from faktura.dunning.costs import DunningCostLedger
        from faktura.dunning.letter import letter_problems
        from faktura.payments import claims

        # Payments pay dunning costs (§ 367 BGB) through this ledger.
        claims.register(DunningCostLedger())

        # `faktura check` verifies every archived dunning letter as it does invoices.
        if letter_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(letter_problems)
