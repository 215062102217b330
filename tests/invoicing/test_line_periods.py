"""Service periods per line (EN 16931 BG-26): drafting, finalization, credits, hash, XML."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from lxml import etree

from faktura.core.errors import InvalidInput
from faktura.documents.einvoice import build_cii, build_ubl, validate
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import LINE_FIELDS, Invoice, InvoiceLine
from faktura.invoicing.snapshots import snapshot_for
from tests.conftest import TODAY
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db

DEC = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
NS = {
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def period(dates: tuple[dt.date, dt.date]) -> dict[str, dt.date]:
    return {"service_date_start": dates[0], "service_date_end": dates[1]}


def test_lines_keep_their_periods_and_differing_ones_leave_the_invoice_period_empty(
    business_customer, actor
):
    invoice = order(
        business_customer,
        actor,
        line(name="Tarif Pro Dezember", **period(DEC)),
        line(name="Tarif Basis November", **period(NOV)),
    )
    stored = [
        (li.service_date_start, li.service_date_end) for li in invoice.lines.order_by("position")
    ]
    assert stored == [DEC, NOV]
    assert invoice.service_date_start is None

    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    invoice.refresh_from_db()
    # The line periods are the date of supply: the invoice's is not the issue date.
    assert (invoice.service_date_start, invoice.service_date_end) == (None, None)
    assert invoice.issue_date == TODAY
    assert invoice.content_hash == invoice.compute_content_hash()


def test_one_period_on_every_line_becomes_the_invoice_period(business_customer, actor):
    invoice = order(
        business_customer, actor, line(**period(DEC)), line(name="Zusatz", **period(DEC))
    )
    assert (invoice.service_date_start, invoice.service_date_end) == DEC


def test_some_lines_with_a_period_give_an_invoice_period_spanning_them_and_the_issue_day(
    business_customer, actor
):
    invoice = order(business_customer, actor, line(**period(NOV)), line(name="Einrichtung"))
    assert invoice.service_date_start is None
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    # The line without period is supplied on the issue day (16.11.); the invoice period
    # must contain every line period (PEPPOL-EN16931-R110/R111).
    assert (invoice.service_date_start, invoice.service_date_end) == NOV
    invoice = order(business_customer, actor, line(**period(DEC)), line(name="Einrichtung"))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert (invoice.service_date_start, invoice.service_date_end) == (TODAY, DEC[1])


def test_without_line_periods_finalization_still_dates_the_supply_today(business_customer, actor):
    invoice = order(business_customer, actor, line())
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert (invoice.service_date_start, invoice.service_date_end) == (TODAY, TODAY)


def test_batch_finalization_leaves_the_period_of_line_dated_invoices_empty(
    business_customer, actor
):
    dated = order(business_customer, actor, line(**period(DEC)), line(**period(NOV)))
    plain = order(business_customer, actor, line())
    invoicing.finalize_invoices(invoice_ids=[dated.pk, plain.pk], actor=actor)
    dated.refresh_from_db()
    plain.refresh_from_db()
    assert (dated.status, dated.service_date_start, dated.service_date_end) == (
        "finalized",
        None,
        None,
    )
    assert (plain.service_date_start, plain.service_date_end) == (TODAY, TODAY)
    assert dated.content_hash == dated.compute_content_hash()


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ({"service_date_start": DEC[0]}, "start and an end"),
        ({"service_date_end": DEC[1]}, "start and an end"),
        ({"service_date_start": DEC[1], "service_date_end": DEC[0]}, "ends before"),
    ],
)
def test_incomplete_or_reversed_line_periods_are_refused(business_customer, actor, dates, message):
    with pytest.raises(InvalidInput, match=message) as error:
        order(business_customer, actor, line(), line(**dates))
    assert error.value.code == "invalid_period"
    assert error.value.field == "lines[1].service_date_start"
    assert not Invoice.objects.exists()


def test_a_line_period_outside_the_invoice_period_is_refused(business_customer, actor):
    with pytest.raises(InvalidInput) as error:
        order(
            business_customer,
            actor,
            line(**period(NOV)),
            service_date_start=DEC[0],
            service_date_end=DEC[1],
        )
    assert (error.value.code, error.value.field) == (
        "invalid_period",
        "lines[0].service_date_start",
    )


def test_credit_notes_and_cancellations_repeat_the_credited_line_periods(business_customer, actor):
    invoice = order(business_customer, actor, line(**period(DEC)), line(**period(NOV)))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(2, "1")])
    assert [(li.service_date_start, li.service_date_end) for li in credit.lines.all()] == [NOV]
    credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    assert credit.service_date_start is None

    by_amount = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="10.00", reason="Kulanz"
    )
    # No line period of its own: the credit names the span of the original's.
    assert (by_amount.service_date_start, by_amount.service_date_end) == (NOV[0], DEC[1])


def test_cancellation_copies_every_line_period(business_customer, actor):
    invoice = order(business_customer, actor, line(**period(DEC)), line(**period(NOV)))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    cancellation = invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor, reason="Storno")
    periods = [(li.service_date_start, li.service_date_end) for li in cancellation.lines.all()]
    assert periods == [DEC, NOV]
    assert cancellation.service_date_start is None


# -- content hash -------------------------------------------------------------------------


def _old_hash(invoice: Invoice) -> str:
    """The hash as computed before lines had periods (LINE_FIELDS only), written out here."""
    from faktura.invoicing.models import ALLOWANCE_FIELDS, FROZEN_FIELDS, TAX_FIELDS, _canonical

    document = {f: _canonical(getattr(invoice, f)) for f in FROZEN_FIELDS}
    document["lines"] = [
        {f: _canonical(getattr(li, f)) for f in LINE_FIELDS}
        for li in invoice.lines.order_by("position")
    ]
    document["allowances"] = [
        {f: _canonical(getattr(a, f)) for f in ALLOWANCE_FIELDS}
        for a in invoice.allowances.order_by("tax_category", "tax_rate")
    ]
    document["taxes"] = [
        {f: _canonical(getattr(t, f)) for f in TAX_FIELDS}
        for t in invoice.taxes.order_by("category", "rate")
    ]
    payload = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def test_lines_without_period_hash_exactly_as_before(business_customer, actor):
    invoice = order(business_customer, actor, line("2", "100.00"), line(rate="de-7"))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert "service_date_start" not in LINE_FIELDS
    assert invoice.content_hash == _old_hash(invoice)
    assert invoice.content_hash == invoice.compute_content_hash()


def test_a_line_period_is_part_of_the_content_hash(business_customer, actor):
    invoice = order(business_customer, actor, line(**period(DEC)), line(**period(NOV)))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    lines = list(invoice.lines.order_by("position"))
    assert invoice.compute_content_hash(lines=lines) == invoice.content_hash
    lines[0].service_date_end = dt.date(2026, 12, 30)  # in memory only
    assert invoice.compute_content_hash(lines=lines) != invoice.content_hash
    assert invoice.content_hash != _old_hash(invoice)


def test_the_database_refuses_half_a_line_period(business_customer, actor):
    from django.db import IntegrityError, transaction

    invoice = order(business_customer, actor, line())
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(service_date_start=DEC[0])


# -- the e-invoice of a finalized document --------------------------------------------------


@pytest.mark.parametrize("syntax", ["cii", "xrechnung-cii", "xrechnung-ubl"])
def test_finalized_line_periods_reach_a_valid_einvoice(business_customer, actor, syntax, company):
    if syntax != "cii":
        business_customer.leitweg_id = "04011000-12345-03"
        business_customer.xrechnung_syntax = syntax.removeprefix("xrechnung-")
        business_customer.save()
    invoice = order(business_customer, actor, line(**period(DEC)), line(**period(NOV)))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    snapshot = snapshot_for(Invoice.objects.get(pk=invoice.pk))
    assert snapshot.einvoice_format == syntax
    assert snapshot.service_date_start is None
    xml = build_ubl(snapshot) if syntax == "xrechnung-ubl" else build_cii(snapshot)
    report = validate(xml)
    assert report.ok, report.summary()
    root = etree.fromstring(xml)
    if syntax == "xrechnung-ubl":
        starts = root.xpath("cac:InvoiceLine/cac:InvoicePeriod/cbc:StartDate/text()", namespaces=NS)
        ends = root.xpath("cac:InvoiceLine/cac:InvoicePeriod/cbc:EndDate/text()", namespaces=NS)
        assert (starts, ends) == (["2026-12-01", "2026-11-01"], ["2026-12-31", "2026-11-30"])
        assert root.xpath("cac:InvoicePeriod | cac:Delivery", namespaces=NS) == []
    else:
        settlement = "//ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement"
        path = f"{settlement}/ram:BillingSpecifiedPeriod/ram:%s/udt:DateTimeString/text()"
        assert root.xpath(path % "StartDateTime", namespaces=NS) == ["20261201", "20261101"]
        assert root.xpath(path % "EndDateTime", namespaces=NS) == ["20261231", "20261130"]
        # No invoice-level date (BT-72 / BG-14) that would contradict the lines.
        assert root.xpath("//ram:ActualDeliverySupplyChainEvent", namespaces=NS) == []
        assert (
            root.xpath(
                "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod", namespaces=NS
            )
            == []
        )
    if syntax != "cii":
        assert report.warnings == (), report.summary()
