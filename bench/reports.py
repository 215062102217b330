"""Receivables reports on PostgreSQL: 1,000,000 invoices; open items, aging, VAT summary.

The figures (reports issue, target ≤ 2 s each): the open items (OP-Liste) at a date, the
aging at that date, and — when ``faktura.reporting.vat.vat_summary`` is on the branch —
the VAT summary of a month. Besides, the open amounts of every invoice
(``with_open_amounts(...).filter(open_amount__gt=0)``, what the dunning run asks) in the
joined form against the correlated subqueries it replaced.

Bench data, not a way to make invoices: rows are written straight into the tables with
INSERT … SELECT over ``generate_series`` (as bench/dunning_run.py does), bypassing the
services and the guard against changing finalized documents. 50,000 customers with 20
invoices each, issued over the 350 days up to the report date, due after 14 days, one
VAT line each; an invoice issued more than 20 days before the report date is paid in full
(one payment, one allocation) unless its number ends in 00–04 (5 % unpaid) or 05–09
(half paid); every 100th invoice got a credit note of 10.00. So about 60,000 invoices are
open, 2,500 of them credited, and 950,000 allocations exist.

Measured once at full scale on the shared 2-core development machine under heavy load
(load average 18–22 from other sessions; every figure is wall time and most of it waiting
for a core), each call the second of two: open items 34.4 s (17.2× the target; 160,884
items), aging 12.8 s (6.4×), aging per customer 43.7 s (21.9×; 50,000 customers); the
open amounts of every invoice 6.1 s joined against 15.7 s with the correlated subqueries
(2.6× faster). Preparing the data took 363 s. EXPLAIN ANALYZE shows the time in hash
aggregating the 900,000 allocations (by invoice and by payment) once per report part;
the targets need an idle machine to judge, or fewer passes over the allocations (one
aggregate shared by the invoices' and the payments' side).

Measured 2026-12-07 at a load average of 0.7 (idle), after PostgreSQL keeps each invoice's
open amount and each payment's unallocated money now (``reporting.InvoiceOpenNow``,
``PaymentCreditNow``, triggers; the reports read only what is open now or changed after
the date): open items 1.78 s (0.89 of the target; 160,884 items), aging 1.02 s (0.51),
aging per customer 2.78 s, VAT summary of a month 0.29 s (0.14). Before, on the same data:
open items 2.59 s, aging 1.92 s (idle, 2026-12-06). Preparing the data now fires the
triggers for every row (about 2 minutes more).

Measured 2026-12-07 (session 11) at a load average of 1.0, after the set-up now vacuums
and analyzes as autovacuum would (this machine's PostgreSQL runs without it): open items
1.42 s (0.71 of the target), aging 0.79 s (0.39), VAT summary of a month 0.21 s (0.11),
aging per customer 2.22 s; the open amounts of every invoice 1.05 s joined against 3.05 s
correlated. Preparing the data took 186 s.

Usage:

    .venv/bin/python bench/reports.py [--customers 50000] [--per-customer 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

DATABASE = "faktura_bench_reports"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
)
REPORT_DATE = dt.date(2026, 11, 16)
SPAN_DAYS = 350
PAID_AFTER_DAYS = 20
TARGET_S = 2.0
# Which hundredth an invoice falls in, scattered over customers and dates.
SHARE = "mod((i.id * 7919) / 13, 100)"


def fresh_database() -> None:
    name = POSTGRES_URL.rsplit("/", 1)[1]
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *base, name], check=True)


def vacuum() -> None:
    """Vacuum and analyze as autovacuum would after a bulk load (the development machine's
    PostgreSQL runs without it): the triggers rewrite the kept amounts row by row."""
    name = POSTGRES_URL.rsplit("/", 1)[1]
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["psql", *base, "-qc", "VACUUM ANALYZE", name], check=True)


def setup_django(data_dir: str) -> None:
    os.environ["DATABASE_URL"] = POSTGRES_URL
    os.environ["FAKTURA_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()


def insert_select(
    model: Any, template: Any, varying: dict[str, str], source: str, params: dict[str, Any]
) -> None:
    """INSERT INTO model's table SELECT …: columns from ``template`` unless in ``varying``."""
    from django.db import connection

    columns, values, all_params = [], [], dict(params)
    for field in model._meta.concrete_fields:
        column = field.column
        if column == "id":
            continue
        columns.append(connection.ops.quote_name(column))
        if column in varying:
            values.append(varying[column])
            continue
        all_params[f"t_{column}"] = field.get_db_prep_save(
            getattr(template, field.attname), connection
        )
        values.append(f"%(t_{column})s")
    # Names and expressions come from the model and this file; the values are parameters.
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        cursor.execute(f"ANALYZE {model._meta.db_table}")


def prepare(customers: int, per_customer: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from faktura.core import clock
    from faktura.core.models import BankAccount, Company
    from faktura.customers.models import Customer
    from faktura.invoicing.models import Invoice, InvoiceTax
    from faktura.payments.models import Allocation, Payment

    company = Company.objects.create(
        legal_name="Bench Handel GmbH",
        street="Weg",
        house_number="1",
        postcode="10115",
        city="Berlin",
        vat_id="DE136695976",
        tax_number="30/123/45678",
        email="bench@example.org",
    )
    BankAccount.objects.create(
        company=company,
        account_holder="Bench Handel GmbH",
        iban="DE02120300000000202051",
        is_default=True,
    )
    now = clock.now()
    Customer.objects.bulk_create(
        [
            Customer(
                number=f"K{n:06d}",
                name=f"Kunde {n}",
                street="Hauptstraße",
                house_number=str(n % 200 + 1),
                postcode="10115",
                city="Berlin",
                email=f"kunde{n}@example.org",
                created_at=now,
            )
            for n in range(customers)
        ],
        batch_size=5000,
    )
    first = Customer.objects.order_by("pk").values_list("pk", flat=True)[0]
    params = {
        "customers": customers,
        "total": customers * per_customer,
        "first_day": REPORT_DATE - dt.timedelta(days=SPAN_DAYS),
        "span": SPAN_DAYS,
        "report_date": REPORT_DATE,
        "paid_after": PAID_AFTER_DAYS,
    }
    net = "(100 + mod(n, 50))"
    insert_select(
        Invoice,
        Invoice(
            status="finalized",
            kind="invoice",
            customer_id=first,
            created_by="bench",
            finalized_by="bench",
            finalized_at=now,
            created_at=now,
            updated_at=now,
        ),
        {
            "number": "'RE-2026-' || lpad(n::text, 7, '0')",
            "customer_id": f"{first} + mod(n, %(customers)s)",
            "issue_date": "%(first_day)s::date + mod(n * 37, %(span)s)",
            "due_date": "%(first_day)s::date + mod(n * 37, %(span)s) + 14",
            "line_total": net,
            "tax_basis_total": net,
            "tax_total": f"round({net} * 0.19, 2)",
            "grand_total": f"round({net} * 1.19, 2)",
            "payable_amount": f"round({net} * 1.19, 2)",
        },
        "FROM generate_series(0, %(total)s - 1) AS n",
        params,
    )
    invoices = f"FROM {Invoice._meta.db_table} i WHERE i.kind = 'invoice'"
    insert_select(
        InvoiceTax,
        InvoiceTax(invoice_id=0, category="S", rate=19, taxable_amount=0, tax_amount=0),
        {
            "invoice_id": "i.id",
            "taxable_amount": "i.tax_basis_total",
            "tax_amount": "i.tax_total",
        },
        invoices,
        params,
    )
    # Every 100th invoice credited by 10.00, five days after it was issued.
    insert_select(
        Invoice,
        Invoice(
            status="finalized",
            kind="credit_note",
            customer_id=first,
            created_by="bench",
            finalized_by="bench",
            finalized_at=now,
            created_at=now,
            updated_at=now,
        ),
        {
            "number": "'GS-2026-' || lpad(i.id::text, 7, '0')",
            "customer_id": "i.customer_id",
            "original_id": "i.id",
            "issue_date": "least(i.issue_date + 5, %(report_date)s::date)",
            "line_total": "8.40",
            "tax_basis_total": "8.40",
            "tax_total": "1.60",
            "grand_total": "10.00",
            "payable_amount": "10.00",
        },
        f"{invoices} AND {SHARE} IN (0, 50)",
        params,
    )
    settled = (
        "i.kind = 'invoice' AND i.issue_date < %(report_date)s::date - %(paid_after)s "
        f"AND {SHARE} >= 5"
    )
    insert_select(
        Payment,
        Payment(
            amount=1,
            date=REPORT_DATE,
            method="transfer",
            source="statement",
            created_by="bench",
            created_at=now,
        ),
        {
            "customer_id": "i.customer_id",
            "amount": (
                f"CASE WHEN {SHARE} < 10 THEN round(i.payable_amount / 2, 2) "
                "ELSE i.payable_amount END"
            ),
            "date": "i.issue_date + 10",
            "external_id": "'bench-' || i.id",
        },
        f"FROM {Invoice._meta.db_table} i WHERE {settled}",
        params,
    )
    insert_select(
        Allocation,
        Allocation(payment_id=0, invoice_id=0, amount=1, created_at=now, created_by="bench"),
        {
            "payment_id": "p.id",
            "invoice_id": "i.id",
            "amount": "p.amount",
            "created_at": "(i.issue_date + 10)::timestamp AT TIME ZONE 'UTC' + interval '10 hours'",
        },
        f"FROM {Invoice._meta.db_table} i JOIN {Payment._meta.db_table} p "
        f"ON p.external_id = 'bench-' || i.id AND p.source = 'statement' WHERE {settled}",
        params,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        # What autovacuum does to a live database: the visibility map lets the reports
        # read the invoices, payments and allocations from their covering indexes alone.
        cursor.execute("VACUUM ANALYZE")


def timed(label: str, call: Callable[[], Any], describe: Callable[[Any], str]) -> None:
    call()  # warm: the first call pays for imports and PostgreSQL's caches
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    print(
        f"{label}: {seconds:.2f} s — target ≤ {TARGET_S:.0f} s: {seconds / TARGET_S:.2f} of the "
        f"allowed time ({describe(result)})"
    )


def correlated_open_count() -> int:
    """The open invoices by the correlated subqueries ``with_open_amounts`` used before."""
    from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    zero = Value(Decimal("0.00"))

    from faktura.invoicing.models import Invoice
    from faktura.payments.models import Allocation, WriteOff

    money = DecimalField(max_digits=14, decimal_places=2)

    def summed(queryset: Any, group: str, field: str) -> Coalesce:
        total = queryset.order_by().values(group).annotate(t=Sum(field)).values("t")
        return Coalesce(Subquery(total, output_field=money), zero, output_field=money)

    return (
        Invoice.objects.filter(status="finalized", kind="invoice")
        .annotate(
            open_amount=Coalesce("payable_amount", zero)
            - summed(
                Invoice.objects.filter(original=OuterRef("pk"), status="finalized"),
                "original",
                "grand_total",
            )
            - summed(
                Allocation.objects.filter(invoice=OuterRef("pk"), reversed_at__isnull=True),
                "invoice",
                "amount",
            )
            - summed(
                WriteOff.objects.filter(invoice=OuterRef("pk"), reversed_at__isnull=True),
                "invoice",
                "amount",
            )
        )
        .filter(open_amount__gt=0)
        .count()
    )


def measure() -> None:
    from faktura.core import clock
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts
    from faktura.reporting import open_items

    with clock.frozen(dt.datetime.combine(REPORT_DATE, dt.time(18), tzinfo=dt.UTC)):
        timed(
            f"open items at {REPORT_DATE}",
            lambda: open_items.open_items(REPORT_DATE),
            lambda items: f"{len(items):,} items, total {sum(i.open_amount for i in items)}",
        )
        timed(
            f"aging at {REPORT_DATE}",
            lambda: open_items.aging(REPORT_DATE)[0],
            lambda a: ", ".join(f"{b.key} {b.amount} ({b.count:,})" for b in a.buckets),
        )
        timed(
            "aging per customer",
            lambda: open_items.aging(REPORT_DATE, by_customer=True),
            lambda rows: f"{len(rows):,} customers",
        )
        try:
            from faktura.reporting.vat import vat_summary  # type: ignore[import-not-found]
        except ImportError:
            print("VAT summary: not on this branch")
        else:
            month = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
            timed("VAT summary of 2026-10", lambda: vat_summary(*month), lambda r: "done")

        def joined() -> int:
            return (
                with_open_amounts(Invoice.objects.filter(status="finalized", kind="invoice"))
                .filter(open_amount__gt=0)
                .count()
            )

        for label, call in (("joined", joined), ("correlated (before)", correlated_open_count)):
            started = time.perf_counter()
            count = call()
            print(
                f"open amounts of all invoices, {label}: {time.perf_counter() - started:.2f} s "
                f"({count:,} open)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--per-customer", type=int, default=20)
    parser.add_argument(
        "--measure-only", action="store_true", help="measure the data of the last run again"
    )
    args = parser.parse_args()
    total = args.customers * args.per_customer
    with tempfile.TemporaryDirectory() as data_dir:
        if not args.measure_only:
            fresh_database()
        setup_django(data_dir)
        if not args.measure_only:
            started = time.perf_counter()
            prepare(args.customers, args.per_customer)
            vacuum()
            print(f"prepared {total:,} invoices in {time.perf_counter() - started:.1f} s")
        print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared)")
        measure()


if __name__ == "__main__":
    main()
