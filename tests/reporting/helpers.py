"""Finalized documents on chosen issue dates, built through the invoicing services."""

from __future__ import annotations

import datetime as dt

from faktura.core import clock
from faktura.customers.services import create_customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from tests.invoicing.helpers import order


def on(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC))


def finalized(customer, actor, *lines, day: dt.date, **kwargs) -> Invoice:
    with on(day):
        draft = order(customer, actor, *lines, **kwargs)
        return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def credit(invoice: Invoice, actor, *, day: dt.date, **kwargs) -> Invoice:
    with on(day):
        draft = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, **kwargs)
        return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def cancel(invoice: Invoice, actor, *, day: dt.date) -> Invoice:
    with on(day):
        return invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor, reason="Storno")


def business(actor, *, country="DE", city="Köln", postcode="50667", vat_id="", name=None):
    return create_customer(
        actor=actor,
        kind="business",
        name=name or f"Kunde {city} GmbH",
        street="Hauptstraße",
        house_number="1",
        postcode=postcode,
        city=city,
        country=country,
        vat_id=vat_id,
        email=f"office@{city.lower()}.example",
    )
