"""A month of business for the DATEV tests, made through the services.

November 2026, two customers: Bäckerei Müller GmbH (Hamburg, K00001) and Kunde Wien GmbH
(Vienna with a VAT ID, K00002). Each document on its own day:

02.11. RE-2026-00001 Müller  100.00 at 19 %                      → 119.00
03.11. RE-2026-00002 Müller   50.00 at 7 %                       →  53.50
04.11. RE-2026-00003 Müller  200.00 at 19 % + 100.00 at 7 %      → 238.00 + 107.00
05.11. RE-2026-00004 Wien   1450.00 workshop, reverse charge (AE)
06.11. RE-2026-00005 Wien    698.00 two terminals, intra-community supply (K)
10.11. GS-2026-00001 Müller  credit note 23.80 (19 %) on RE-2026-00003
11.11. GS-2026-00002 Müller  cancellation of RE-2026-00002 (53.50)
12.11. payment 119.00 for RE-2026-00001, by direct debit
13.11. the debit comes back: return 119.00 and a 3.00 returned-debit fee
14.11. payment 320.70 for RE-2026-00003 (open 321.20)
16.11. the 0.50 rest of RE-2026-00003 written off
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from faktura.catalog.services import create_product
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.services import create_customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.drafting import LineRequest
from faktura.payments import services as payments
from faktura.payments.returns import record_returned_debit
from faktura.reporting.models import DatevSettings
from tests.invoicing.helpers import line, order

CASHIER = Actor(label="user:kai", roles=frozenset({"cashier", "accountant"}))


@contextmanager
def on(day: int):
    with clock.frozen(dt.datetime(2026, 11, day, 9, 0, tzinfo=dt.UTC)):
        yield


def configure(**fields) -> DatevSettings:
    config = DatevSettings(consultant_number=29098, client_number=55003, **fields)
    config.save()
    return config


def _final(customer, actor, *lines):
    draft = order(customer, actor, *lines)
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def make_month(actor, approver) -> dict:
    with on(1):
        mueller = create_customer(
            actor=actor,
            kind="business",
            name="Bäckerei Müller GmbH",
            street="Hafenstraße",
            house_number="5",
            postcode="20457",
            city="Hamburg",
            email="buchhaltung@mueller.example",
            vat_id="DE136695976",
        )
        vienna = create_customer(
            actor=actor,
            kind="business",
            name="Kunde Wien GmbH",
            street="Hauptstraße",
            house_number="1",
            postcode="1010",
            city="Wien",
            country="AT",
            vat_id="ATU13585627",
            email="office@wien.example",
        )
        create_product(
            actor=actor,
            sku="WORKSHOP",
            name="Inhouse-Workshop",
            unit_code="DAY",
            unit_price="1450.00",
            tax_rate="de-19",
            kind="service",
        )
        create_product(
            actor=actor,
            sku="TERMINAL",
            name="Kassenterminal",
            unit_price="349.00",
            tax_rate="de-19",
            kind="goods",
        )
    with on(2):
        full = _final(mueller, actor, line("1", "100.00"))
    with on(3):
        reduced = _final(mueller, actor, line("1", "50.00", rate="de-7", name="Buch"))
    with on(4):
        mixed = _final(
            mueller, actor, line("1", "200.00"), line("1", "100.00", rate="de-7", name="Buch")
        )
    with on(5):
        reverse = _final(vienna, actor, LineRequest(sku="WORKSHOP", quantity="1"))
    with on(6):
        intra = _final(vienna, actor, LineRequest(sku="TERMINAL", quantity="2"))
    with on(10):
        credit = invoicing.create_credit_note(
            invoice_id=mixed.pk, actor=actor, amount="23.80", tax_rate="de-19", reason="Rabatt"
        )
        credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=approver)
    with on(11):
        cancellation = invoicing.cancel_invoice(invoice_id=reduced.pk, actor=actor)
    with on(12):
        debit = payments.record_payment(
            actor=CASHIER,
            amount="119.00",
            date=dt.date(2026, 11, 12),
            method="direct_debit",
            source="manual",
            reference="RE-2026-00001",
            customer_id=mueller.pk,
        )
        [allocation] = payments.allocate_payment(
            payment_id=debit.pk, allocations=[(full.pk, "119.00")], actor=CASHIER
        )
    with on(13):
        returned = record_returned_debit(
            actor=CASHIER,
            reason_code="MS03",
            source_reference="statement-2026-11-13-1",
            allocation_id=allocation.pk,
            return_fee="3.00",
            booking_date=dt.date(2026, 11, 13),
        )
    with on(14):
        transfer = payments.record_payment(
            actor=CASHIER,
            amount="320.70",
            date=dt.date(2026, 11, 14),
            method="transfer",
            source="manual",
            reference="RE-2026-00003",
            customer_id=mueller.pk,
        )
        payments.allocate_payment(
            payment_id=transfer.pk, allocations=[(mixed.pk, "320.70")], actor=CASHIER
        )
    with on(16):
        write_off = payments.write_off(
            invoice_id=mixed.pk, amount="0.50", reason="Rundungsdifferenz", actor=actor
        )
    return {
        "mueller": mueller,
        "vienna": vienna,
        "documents": [full, reduced, mixed, reverse, intra, credit, cancellation],
        "returned": returned,
        "write_off": write_off,
    }
