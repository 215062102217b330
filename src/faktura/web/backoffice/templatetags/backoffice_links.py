"""Links from the back office to the pages that edit a row (the admin, until the back
office has its own page for it)."""

from __future__ import annotations

from typing import Any

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


# Where an inbox item is handled in the back office: (url name, attribute with the id).
_INBOX_PAGES = {
    "approvals": ("backoffice:invoice", "pk"),
    "blocked_documents": ("backoffice:invoice", "pk"),
    "bank": ("backoffice:bank_line", "pk"),
    "disputes": ("backoffice:invoice", "invoice_id"),
    "dunning_proposals": ("backoffice:customer", "customer_id"),
    "collection_proposals": ("backoffice:customer", "customer_id"),
    "dunning_entries": ("backoffice:customer", "customer_id"),
    "payment_requests": ("backoffice:customer", "customer_id"),
    "failed_mails": ("backoffice:invoice", "invoice_id"),
}


@register.simple_tag
def inbox_url(source: str, item: Model) -> str:
    """The page that has the item's forms; else its admin page (or nothing)."""
    page = _INBOX_PAGES.get(source)
    if page is not None:
        pk = getattr(item, page[1], None)
        if pk is not None:
            return reverse(page[0], args=[pk])
    return change_url(item)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, [])
