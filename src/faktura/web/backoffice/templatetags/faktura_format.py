"""Amounts, dates and percentages as the reader's language writes them:
``1.234,56 €`` and ``16.11.2026`` in German, ``€1,234.56`` and ``16 November 2026`` in
English (the same rules as the documents)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.translation import get_language

from faktura.documents.pdf import texts

register = template.Library()


def _lang() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


@register.filter
def euro(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    return texts.money(Decimal(value), "EUR", _lang())


@register.filter
def datum(value: dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return texts.date(value, _lang())


@register.filter
def count(value: int) -> str:
    """A whole number with the language's thousands separator: 1.280 (de), 1,280 (en)."""
    text = f"{int(value):,}"
    return text.replace(",", ".") if _lang() == "de" else text


@register.filter
def normalize(value: Decimal | None) -> str:
    """A quantity or rate without needless zeros, in the language's notation: 1,5 / 19."""
    if value is None:
        return ""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",") if _lang() == "de" else text


@register.filter
def unit_euro(value: Decimal | None) -> str:
    """A unit price: two decimals, up to four where it has them (0,0125 €)."""
    if value is None:
        return ""
    exponent = Decimal(value).normalize().as_tuple().exponent
    places = min(4, max(2, -exponent if isinstance(exponent, int) else 2))
    return texts.money(Decimal(value), "EUR", _lang(), places=places)
