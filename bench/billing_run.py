"""The daily billing run on PostgreSQL: 100,000 monthly subscriptions of 10,000 customers.

Two figures, each with its ratio to the target (subscriptions issue, acceptance 6):

1. From due periods to finalized invoices (drafts made in bulk and finalized, documents
   not rendered): target ≥ 500 invoices/s.
2. End to end with 2 `faktura worker` processes: every document rendered, validated,
   archived and its mail queued: target ≤ 20 minutes.

Each figure uses a fresh database. Usage:

    .venv/bin/python bench/billing_run.py [--customers 10000] [--per-customer 10]
                                          [--skip-end-to-end]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

DATABASE = "faktura_bench_billing"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
)
BILLING_DATE = dt.date(2027, 1, 1)
TARGET_RATE = 500.0
TARGET_END_TO_END_S = 20 * 60


def fresh_database() -> None:
    name = POSTGRES_URL.rsplit("/", 1)[1]
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *base, name], check=True)


def setup_django(data_dir: str) -> None:
    os.environ["DATABASE_URL"] = POSTGRES_URL
    os.environ["FAKTURA_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()


def prepare(customers: int, per_customer: int) -> None:
    """A company, ``customers`` customers (one in five a consumer) with ``per_customer``
    monthly subscriptions each, all due on the billing date."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from faktura.catalog.models import Product, TaxRate
    from faktura.core import clock
    from faktura.core.models import BankAccount, Company
    from faktura.customers.models import Customer
    from faktura.subscriptions.models import Plan, Subscription

    company = Company.objects.create(
        legal_name="Bench Akademie GmbH",
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
        account_holder="Bench Akademie GmbH",
        iban="DE02120300000000202051",
        is_default=True,
    )
    now = clock.now()
    rate = TaxRate.objects.get(code="de-19")
    plans = []
    for n in range(per_customer):
        product = Product.objects.create(
            sku=f"PLAN-{n}", name=f"Kurs-Abo {n}", unit_price=0, tax_rate=rate, kind="service"
        )
        plans.append(
            Plan.objects.create(
                code=f"plan-{n}",
                name=f"Online-Kurs {n} (monatlich)",
                product=product,
                interval="month",
                price=Decimal("19.90") + n,
                price_mode="gross" if n % 2 else "net",
                created_at=now,
            )
        )
    Customer.objects.bulk_create(
        [
            Customer(
                number=f"K{n:06d}",
                kind="consumer" if n % 5 == 0 else "business",
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
        batch_size=2000,
    )
    subscriptions = [
        Subscription(
            customer=customer,
            plan=plan,
            starts_on=BILLING_DATE,
            billing_anchor=BILLING_DATE,
            next_billing_on=BILLING_DATE,
            created_at=now,
            created_by="bench",
        )
        for customer in Customer.objects.order_by("pk")
        for plan in plans
    ]
    Subscription.objects.bulk_create(subscriptions, batch_size=5000)


def start_workers(data_dir: str, count: int) -> list[subprocess.Popen[bytes]]:
    from django.db import connections

    connections.close_all()
    env = dict(os.environ, DATABASE_URL=POSTGRES_URL, FAKTURA_DATA_DIR=data_dir)
    faktura = str(Path(sys.executable).with_name("faktura"))
    return [
        subprocess.Popen(
            [faktura, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


def billing_in_workers(label: str, processes: list[subprocess.Popen[bytes]]) -> tuple[int, float]:
    """The run as the scheduled job makes it: chunks billed by the workers in parallel."""
    from faktura.core import clock
    from faktura.core.actors import Actor
    from faktura.subscriptions.models import BillingRun
    from faktura.subscriptions.run import run_billing

    started = time.perf_counter()
    with clock.frozen(BILLING_DATE):
        run = run_billing(billing_date=BILLING_DATE, actor=Actor.system("bench"), in_workers=True)
    last = started
    while run.status == BillingRun.Status.RUNNING:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker stopped: " + processes[0].stderr.read().decode())  # type: ignore[union-attr]
        time.sleep(0.2)
        run.refresh_from_db()
        if time.perf_counter() - last > 5:
            last = time.perf_counter()
            print(
                f"  {label}: {len(run.chunks_done)}/{run.chunks_total} chunks, "
                f"{time.perf_counter() - started:.1f} s"
            )
    seconds = time.perf_counter() - started
    assert run.status == BillingRun.Status.FINISHED, run.status
    assert run.errors == 0, f"{run.errors} errors"
    print(
        f"  {run.periods_found} periods on {run.invoices_made} invoices, "
        f"{run.invoices_finalized} finalized in {seconds:.1f} s ({run.chunks_total} chunks)"
    )
    return run.invoices_finalized, seconds


def run_billing(label: str) -> tuple[int, float]:
    from faktura.core import clock
    from faktura.core.actors import Actor
    from faktura.subscriptions.run import run_billing

    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5 or done == total:
            last[0] = time.perf_counter()
            print(f"  {label}: {done}/{total} customers, {time.perf_counter() - started:.1f} s")

    with clock.frozen(BILLING_DATE):
        run = run_billing(billing_date=BILLING_DATE, actor=Actor.system("bench"), progress=progress)
    seconds = time.perf_counter() - started
    assert run.errors == 0, f"{run.errors} errors"
    print(
        f"  {run.periods_found} periods on {run.invoices_made} invoices, "
        f"{run.invoices_finalized} finalized in {seconds:.1f} s"
    )
    return run.invoices_finalized, seconds


def drafts_and_finalization(customers: int, per_customer: int, workers: int) -> None:
    print(
        f"1. due periods → finalized invoices ({customers} customers × {per_customer} "
        f"subscriptions, chunks billed by {workers} worker processes, documents not rendered):"
    )
    with tempfile.TemporaryDirectory() as data_dir:
        fresh_database()
        setup_django(data_dir)
        started = time.perf_counter()
        prepare(customers, per_customer)
        print(f"  prepared in {time.perf_counter() - started:.1f} s")
        processes = start_workers(data_dir, workers)
        try:
            time.sleep(3)  # the workers are up (Django loaded) before the clock starts
            invoices, seconds = billing_in_workers("billing run", processes)
        finally:
            stop(processes)
    rate = invoices / seconds
    print(
        f"  {rate:,.0f} invoices/s — target ≥ {TARGET_RATE:.0f}/s: "
        f"{rate / TARGET_RATE:.2f}× the target"
    )


def end_to_end(customers: int, per_customer: int, workers: int) -> None:
    print(f"2. end to end with {workers} worker processes (render, validate, archive, mail):")
    with tempfile.TemporaryDirectory() as data_dir:
        fresh_database()
        setup_django(data_dir)
        prepare(customers, per_customer)
        from faktura.documents.models import ArchivedDocument
        from faktura.notifications.models import OutboxMessage

        processes = start_workers(data_dir, workers)
        try:
            time.sleep(3)
            started = time.perf_counter()
            invoices, billing_s = billing_in_workers("billing run", processes)
            last_report = 0.0
            while True:
                archived = ArchivedDocument.objects.filter(kind="pdf").count()
                queued = OutboxMessage.objects.count()
                elapsed = time.perf_counter() - started
                if archived >= invoices and queued >= invoices:
                    break
                if elapsed - last_report > 15:
                    last_report = elapsed
                    print(f"  {elapsed:6.0f} s: {archived}/{invoices} archived, {queued} mails")
                if any(p.poll() is not None for p in processes):
                    raise SystemExit("a worker stopped: " + processes[0].stderr.read().decode())  # type: ignore[union-attr]
                time.sleep(2)
            total = time.perf_counter() - started
        finally:
            stop(processes)
    print(
        f"  {invoices} invoices billed in {billing_s:.0f} s, all rendered, validated, "
        f"archived and mailed after {total:.0f} s ({total / 60:.1f} min) — target ≤ 20 min: "
        f"{total / TARGET_END_TO_END_S:.2f} of the allowed time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--only-end-to-end", action="store_true")
    args = parser.parse_args()
    if not args.only_end_to_end:
        drafts_and_finalization(args.customers, args.per_customer, args.workers)
    if not args.skip_end_to_end:
        # A fresh interpreter: Django is set up once per process.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--_end-to-end",
                str(args.customers),
                str(args.per_customer),
                str(args.workers),
            ],
            check=True,
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_end-to-end":
        end_to_end(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
