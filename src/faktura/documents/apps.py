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
        from faktura.documents.stuck import stuck_document_problems

        # `faktura check` verifies every archived file against its SHA-256 (GoBD), names
        # every document blocked from delivery (it waits for staff) and every finalized
        # document stuck on its way to the customer (DESIGN invariant 9).
        for check in (archive_problems, blocked_documents, stuck_document_problems):
            if check not in EXTRA_CHECKS:
                EXTRA_CHECKS.append(check)
