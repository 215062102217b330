"""A direct-debit invoice announces its debit: mandate, creditor ID and date on PDF and XML."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from faktura.documents import pipeline
from faktura.documents.archive import read_archived
from faktura.documents.models import ArchivedDocument
from tests.collection.helpers import debit_customer, due_invoice

pytestmark = pytest.mark.django_db


def test_a_direct_debit_invoice_carries_its_pre_notification(business_customer, actor):
    from faktura.customers.services import update_customer

    update_customer(
        customer_id=business_customer.pk, actor=actor, preferred_payment_method="direct_debit"
    )
    customer = debit_customer(business_customer, actor, payment_term_days=14)
    invoice = due_invoice(customer, actor)
    mandate = customer.mandates.get()
    pipeline.process(invoice.pk)
    pdf = read_archived(ArchivedDocument.objects.get(invoice=invoice, kind="pdf"))
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    text = " ".join(text.replace("\xa0", " ").split())
    assert mandate.reference in text
    assert "DE98ZZZ09999999999" in text
    assert "30.11.2026" in text  # due date = planned debit date (14 days after 16.11.)
    xml = PdfReader(BytesIO(pdf)).attachments["factur-x.xml"][0]
    assert mandate.reference.encode() in xml
    assert b"<ram:TypeCode>59</ram:TypeCode>" in xml  # SEPA direct debit
