"""Helpers of the GoBD tests: a year of business, and reading an export as index.xml says."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from lxml import etree

from faktura.core import clock
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from tests.dunning.helpers import overdue, run
from tests.payments.helpers import CASHIER, finalized, pay


def a_year_of_business(business_customer, consumer, actor, other_customer) -> None:
    """Invoices, a credit note, a cancellation, payments, dunning notices in 2026; one
    invoice of 2025 for a customer who has nothing in 2026."""
    with clock.frozen(dt.date(2025, 12, 30)):
        old = finalized(other_customer, actor, price="50.00")
        invoicing.cancel_invoice(invoice_id=old.pk, actor=actor, reason="Doppelt")  # no dunning
    first = finalized(business_customer, actor, price="100.00")
    finalized(business_customer, actor, price="1234.56", quantity="3")
    corrected = finalized(business_customer, actor, price="80.00")
    draft = invoicing.create_credit_note(
        invoice_id=corrected.pk, actor=actor, amount="23.80", reason="Kulanz"
    )
    invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    cancelled = finalized(business_customer, actor, price="10.00")
    invoicing.cancel_invoice(invoice_id=cancelled.pk, actor=actor, reason="Fehler")
    payment = pay(CASHIER, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(first.pk, "119.00")], actor=actor
    )
    assert first.grand_total == 119
    overdue(consumer, actor, due=dt.date(2026, 10, 1))
    run(dt.date(2026, 10, 8))
    run(dt.date(2026, 10, 22))


def tables_of(index: Path) -> list[etree._Element]:
    return etree.parse(str(index)).findall("Media/Table")


def read_table(directory: Path, table: etree._Element) -> list[list[str]]:
    """Parse one CSV with exactly the encoding and separators its description declares."""
    encoding = "utf-8" if table.find("UTF8") is not None else "iso-8859-15"
    variable = table.find("VariableLength")
    assert variable is not None
    delimiter = variable.findtext("ColumnDelimiter")
    record = variable.findtext("RecordDelimiter")
    quote = variable.findtext("TextEncapsulator")
    data = (directory / table.findtext("URL")).read_bytes().decode(encoding)
    assert data.endswith(record)
    reader = csv.reader(
        io.StringIO(data, newline=""),
        delimiter=delimiter,
        quotechar=quote,
        lineterminator=record,
        strict=True,
    )
    return list(reader)
