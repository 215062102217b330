"""What every back-office page shows around its content: the company and the user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from faktura.core.models import Company


def shell(request: HttpRequest) -> dict[str, Any]:
    if request.path.startswith(("/admin/", "/api/")):
        return {}
    company = Company.objects.order_by("pk").values_list("legal_name", flat=True).first()
    return {"company_name": company or ""}
