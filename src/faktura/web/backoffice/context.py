"""What every back-office page shows around its content: the company and the user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from faktura.core.models import Company
from faktura.reporting import inbox


def shell(request: HttpRequest) -> dict[str, Any]:
    if request.path.startswith(("/admin/", "/api/")):
        return {}
    company = Company.objects.order_by("pk").values_list("legal_name", flat=True).first()
    shown: dict[str, Any] = {"company_name": company or ""}
    match = request.resolver_match
    if request.user.is_authenticated and match is not None and match.namespace == "backoffice":
        shown["inbox_count"] = inbox.total()
    return shown
