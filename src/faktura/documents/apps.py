from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "faktura.documents"
    label = "documents"
    verbose_name = _("Dokumente und Archiv")

    def ready(self) -> None:
        from faktura.core.integrity import EXTRA_CHECKS
        from faktura.documents.archive import archive_problems
        from faktura.documents.checks import blocked_documents

        # `faktura check` verifies every archived file against its SHA-256 (GoBD).
        if archive_problems not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(archive_problems)
        # …and names every document blocked from delivery (it waits for staff).
        if blocked_documents not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(blocked_documents)
