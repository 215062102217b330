from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "faktura.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from faktura.access.events import ACCESS_CHANGED
        from faktura.webhooks.services import emit_access_changed

        if emit_access_changed not in ACCESS_CHANGED:
            ACCESS_CHANGED.append(emit_access_changed)
