"""Links from the back office to the pages that edit a row: its own page where it has one,
else the admin."""

from __future__ import annotations

from django import template
from django.contrib import admin
from django.db.models import Model
from django.urls import NoReverseMatch, reverse

register = template.Library()

# Rows the back office has its own page for: model → (URL name, with the row's id or not).
OWN_PAGES = {
    "subscriptions.subscription": ("backoffice:subscription", True),
    "payments.payment": ("backoffice:payment", True),
    "payments.paymentrequest": ("backoffice:payments", False),
    "payments.returnevent": ("backoffice:returns", False),
    "dunning.dunningnotice": ("backoffice:dunning", False),
    "dunning.collectioncase": ("backoffice:dunning", False),
}


@register.filter
def change_url(obj: Model) -> str:
    meta = obj._meta
    own = OWN_PAGES.get(f"{meta.app_label}.{meta.model_name}")
    if own is not None:
        name, with_id = own
        return reverse(name, args=[obj.pk]) if with_id else reverse(name)
    if not admin.site.is_registered(type(obj)):
        return ""
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""
