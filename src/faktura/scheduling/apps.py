from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "faktura.scheduling"
    label = "scheduling"
    verbose_name = _("Geplante Aufgaben")

    def ready(self) -> None:
        from faktura.core.integrity import EXTRA_CHECKS
        from faktura.scheduling.selectors import job_problems

        # The registry of `faktura check`; guarded so a second ready() adds nothing.
        if job_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(job_problems)
