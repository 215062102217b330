from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "faktura.core"
    label = "core"
    verbose_name = _("Stammdaten und Protokoll")

    def ready(self) -> None:
        from faktura.core.roles import ensure_roles

        # Set-up, not domain logic: the role groups exist on every installation.
        post_migrate.connect(ensure_roles, dispatch_uid="faktura-ensure-roles")
