from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "faktura.access"
    label = "access"
    verbose_name = _("Zugang")

    def ready(self) -> None:
        from faktura.access.services import claims_corrected
        from faktura.invoicing.services import AFTER_CORRECTION

        if claims_corrected not in AFTER_CORRECTION:
            AFTER_CORRECTION.append(claims_corrected)
