"""Links from the back office to the pages that edit a row: its own page where it has one,
else the admin."""

from __future__ import annotations

from typing import Any

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


# Where an inbox item is handled in the back office: (url name, attribute with the id, or
# None for a page without one).
_INBOX_PAGES: dict[str, tuple[str, str | None]] = {
    "approvals": ("backoffice:invoice", "pk"),
    "blocked_documents": ("backoffice:invoice", "pk"),
    "bank": ("backoffice:bank_line", "pk"),
    "disputes": ("backoffice:invoice", "invoice_id"),
    "dunning_proposals": ("backoffice:customer", "customer_id"),
    "collection_proposals": ("backoffice:customer", "customer_id"),
    "dunning_entries": ("backoffice:customer", "customer_id"),
    "payment_requests": ("backoffice:customer", "customer_id"),
    "failed_mails": ("backoffice:invoice", "invoice_id"),
    # Letters by post are taken all at once: the page that makes the print batch.
    "print_documents": ("backoffice:print_batches", None),
    "print_notices": ("backoffice:print_batches", None),
}


@register.simple_tag
def inbox_url(source: str, item: Model) -> str:
    """The page that has the item's forms; else its admin page (or nothing)."""
    page = _INBOX_PAGES.get(source)
    if page is not None:
        name, attribute = page
        if attribute is None:
            return reverse(name)
        pk = getattr(item, attribute, None)
        if pk is not None:
            return reverse(name, args=[pk])
    return change_url(item)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, [])
