"""Time the revenue and VAT reports over a year of documents on PostgreSQL.

Builds N finalized invoices (two lines each, 19 % and 7 %, issue dates spread over 2026,
every tenth cancelled) on a fresh database by copying one invoice made through the
services, then times ``revenue`` for each grouping and ``vat_summary`` for a month and for
the year, and prints each time (the second of two calls) and its ratio to the target (1 s
for a year of 100,000 documents, scaled to N). Usage:

    .venv/bin/python bench/reports_revenue.py [N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/faktura_reports_rev_bench"
)
CHUNK = 2000
TARGET_SECONDS_PER_100K = 1.0


def setup() -> None:
    """A fresh database: dropped, created and migrated."""
    import psycopg

    server, name = URL.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(count: int) -> None:
    from django.db import transaction

    from faktura.core.actors import Actor
    from faktura.core.models import Company
    from faktura.customers.services import create_customer
    from faktura.invoicing.drafting import LineRequest
    from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
    from faktura.invoicing.services import finalize_invoice
    from faktura.sales.services import place_order

    actor = Actor(label="bench", roles=frozenset({"admin", "accountant", "approver"}))
    Company.objects.create(
        legal_name="Bench GmbH", street="Weg", house_number="1", postcode="10117",
        city="Berlin", tax_number="30/123/45678", vat_id="DE136695976", email="b@example.org",
    )  # fmt: skip
    customer = create_customer(
        actor=actor, kind="business", name="Kunde GmbH", street="Weg", house_number="2",
        postcode="20457", city="Hamburg", email="k@example.org",
    )  # fmt: skip
    draft = place_order(
        customer_id=customer.pk,
        actor=actor,
        lines=[
            LineRequest(quantity="2", name="Beratung", unit_price="120.00", tax_rate="de-19"),
            LineRequest(quantity="1", name="Buch", unit_price="30.00", tax_rate="de-7"),
        ],
    )
    template = finalize_invoice(invoice_id=draft.pk, actor=actor)
    lines, taxes = list(template.lines.all()), list(template.taxes.all())
    skip = {"id", "number", "issue_date", "kind", "original", "order"}
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Invoice._meta.concrete_fields
        if f.name not in skip
    }
    for first in range(0, count, CHUNK):
        with transaction.atomic():
            batch = [
                Invoice(
                    **fields,
                    kind="cancellation" if i % 10 == 9 else "invoice",
                    number=f"B-{i:08d}",
                    issue_date=dt.date(2026, 1, 1) + dt.timedelta(days=i % 365),
                )
                for i in range(first, min(first + CHUNK, count))
            ]
            Invoice.objects.bulk_create(batch)
            for model, parts in ((InvoiceLine, lines), (InvoiceTax, taxes)):
                rows = []
                for invoice in batch:
                    for part in parts:
                        values = {
                            f.attname: getattr(part, f.attname)
                            for f in model._meta.concrete_fields
                            if f.name not in ("id", "invoice", "credited_line")
                        }
                        rows.append(model(**values, invoice_id=invoice.pk))
                model.objects.bulk_create(rows)


def timed(label: str, call, target: float):
    call()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    print(f"{label:40s} {seconds:7.3f} s   target {target:6.3f} s   ratio {seconds / target:5.2f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=50_000)
    count = parser.parse_args().count
    setup()
    began = time.perf_counter()
    build(count)
    print(f"built {count} documents in {time.perf_counter() - began:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by the time anyone reports
    from faktura.reporting.revenue import revenue, total
    from faktura.reporting.vat import vat_summary

    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    month = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    target = TARGET_SECONDS_PER_100K * count / 100_000
    for by in ("month", "product", "tax_rate", "customer_kind"):
        rows = timed(f"revenue by {by} (year)", lambda by=by: revenue(*year, by), target)
        print(f"{'':40s} total {total(rows)}")
    summary = timed("vat_summary (year)", lambda: vat_summary(*year), target)
    print(f"{'':40s} taxable {summary.taxable_total}, VAT {summary.tax_total}")
    timed("vat_summary (month)", lambda: vat_summary(*month), target / 12)


if __name__ == "__main__":
    main()
