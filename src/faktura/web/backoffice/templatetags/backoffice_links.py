"""Links from the back office to the pages that edit a row (the admin, until the back
office has its own page for it)."""

from __future__ import annotations

from django import template
from django.contrib import admin
from django.db.models import Model
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def change_url(obj: Model) -> str:
    meta = obj._meta
    if not admin.site.is_registered(type(obj)):
        return ""
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""
