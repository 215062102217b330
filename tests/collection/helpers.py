"""Helpers of the direct-debit tests: mandates, due invoices, reading pain.008 files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sepaxml
from lxml import etree

from faktura.collection import services as collection
from faktura.customers.services import update_customer
from tests.payments.helpers import IBAN, finalized

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
SIGNED = dt.date(2026, 10, 1)
# First day after 2026-11-16 (Monday) on which a file may be collected.
TOMORROW = dt.date(2026, 11, 17)


def mandate(customer, actor, *, scheme="CORE", kind="recurring", iban=IBAN, signed=SIGNED, **kw):
    return collection.create_mandate(
        customer_id=customer.pk,
        actor=actor,
        iban=iban,
        signature_date=signed,
        scheme=scheme,
        kind=kind,
        **kw,
    )


def debit_customer(customer, actor, *, payment_term_days=0, **kw):
    """A customer paying by direct debit, due at once (the debit date is the due date)."""
    update_customer(customer_id=customer.pk, actor=actor, payment_term_days=payment_term_days)
    mandate(customer, actor, **kw)
    customer.refresh_from_db()
    return customer


def due_invoice(customer, actor, price="100.00"):
    invoice = finalized(customer, actor, price=price)
    assert invoice.payment_method == "direct_debit"
    return invoice


def pain008_schema() -> etree.XMLSchema:
    path = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text for element in root.findall(path, NS)]
