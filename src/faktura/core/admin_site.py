"""The Django admin for superusers only, and only after their second factor.

Staff with roles work in the back office; the admin (every table, raw) is the superuser's
tool of last resort. A staff member who is not a superuser is sent to the admin's sign-in
page, which tells them that this account may not use it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class FakturaAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        from faktura.web.backoffice.two_factor import second_factor_missing

        user = request.user
        return bool(
            user.is_active
            and getattr(user, "is_superuser", False)
            and not second_factor_missing(request)
        )


class FakturaAdminConfig(AdminConfig):
    """Django's admin app with Faktura's site (installed in place of django.contrib.admin)."""

    default_site = "faktura.core.admin_site.FakturaAdminSite"
