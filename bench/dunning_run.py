"""The daily dunning run on PostgreSQL: 1,000,000 open invoices of which 100,000 overdue.

The figure (dunning issue, acceptance 6): the run for one date without letters (notices,
fees, interest, cases, access, webhooks and mails queued; no PDF rendered), target ≤ 30 s.

Bench data, not a way to make invoices: the invoices are written straight into the table
with one INSERT … SELECT over ``generate_series`` as finalized rows with number, totals
and dates, bypassing the services and the model's guard against changing finalized
documents (finalizing a million invoices through the services would take hours and is
measured by bench/finalize_invoices.py). 50,000 customers (one in five a consumer) with 20
invoices each, two of them overdue by 10 days: the run sends every customer its payment
reminder; 20 account managers and a customer-service address get the run's digest mails.

Measured on the 2-core development machine: under load (2–4) 65 s at first (most of it
PostgreSQL compiling each chunk's query with JIT), 45–50 s without JIT, 34–36 s with the
rows written by COPY; idle, after narrowing the collection proposals in the database,
26.9–27.5 s (0.90–0.92 of the target; 17 s CPU in this process); the same date again:
8 s. Then (``--letters``) the queued letters rendered, archived and mailed by 2 workers:
101–106 letters/s (1.01–1.06× the target of 100/s) once policies, levels, company and
letterhead are read once per batch (89/s before). With instalment agreements, dunning
costs as payable claims and the notices to staff (150,000 to-do entries written by COPY, 21
digest mails), measured back to back on a day when the machine was about 2.7 times slower
(load 1.0): 66.0 s (41.3 s CPU) against 71.3 s (47.0 s CPU) for the code before them
(0.93×), after the chunk's new queries took their ids as one array parameter
(``bulk.column_in``); the same date again 17.9 s against 20.3 s. That day the same code
also took 88 s ten minutes earlier: compare only runs made back to back on an idle machine.
On an idle machine the next session measured that code at 30.1–30.7 s and 93 letters/s;
then the chunk's remaining ``IN`` lists became array parameters (psycopg splits a query of
thousands of placeholders on every call), the audit chains' heads one UPDATE per chunk,
approved notices were written as sent (no UPDATE after the COPY), and a letter's level,
items and customer read once: 19.5–20.9 s (0.65–0.70 of the target; 12–13 s CPU), the
same date again 3.5–3.8 s, letters 113–131/s (1.13–1.31× the target).
Usage:

    .venv/bin/python bench/dunning_run.py [--customers 50000] [--per-customer 20]
                                          [--overdue-per-customer 2] [--letters 2000]
                                          [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import tempfile
import time

DATABASE = "faktura_bench_dunning"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
)
RUN_DATE = dt.date(2027, 3, 1)
OVERDUE_DAYS = 10  # past the reminder's 7 days: every overdue invoice is dunned
TARGET_S = 30.0


TARGET_LETTERS = 100.0
MANAGERS = 20


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


def prepare(customers: int, per_customer: int, overdue_per_customer: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from faktura.core import clock
    from faktura.core.models import BankAccount, Company
    from faktura.customers.models import Customer
    from faktura.invoicing.models import Invoice

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
    # Staff to tell (dunning/staff.py): every customer has one of MANAGERS account managers,
    # and the customer-service address gets the digest of all entries.
    from django.contrib.auth.models import User

    from faktura.dunning.models import NoticeSettings

    NoticeSettings.objects.create(service_email="service@example.org")
    managers = User.objects.bulk_create(
        [
            User(username=f"betreuer{m}", email=f"betreuer{m}@example.org", is_staff=True)
            for m in range(MANAGERS)
        ]
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
                account_manager_id=managers[n % MANAGERS].pk,
                created_at=now,
            )
            for n in range(customers)
        ],
        batch_size=5000,
    )
    first = Customer.objects.order_by("pk").values_list("pk", flat=True)[0]
    # Every column from a template row (the model's defaults), the varying ones from n:
    # invoice n belongs to customer n mod customers; the first ``overdue_per_customer``
    # rounds over all customers are overdue, the others due after the run date.
    template = Invoice(
        status="finalized",
        kind="invoice",
        customer_id=first,
        created_by="bench",
        finalized_by="bench",
        finalized_at=now,
        created_at=now,
        updated_at=now,
        grand_total=0,
        payable_amount=0,
    )
    varying = {
        "id": None,
        "number": "'RE-2027-' || lpad(n::text, 7, '0')",
        "customer_id": f"{first} + mod(n, %(customers)s)",
        "due_date": (
            "CASE WHEN n / %(customers)s < %(overdue)s THEN %(overdue_due)s::date "
            "ELSE %(later_due)s::date END"
        ),
        "issue_date": (
            "CASE WHEN n / %(customers)s < %(overdue)s THEN %(overdue_due)s::date - 14 "
            "ELSE %(later_due)s::date - 14 END"
        ),
        "line_total": "100 + mod(n, 50)",
        "tax_basis_total": "100 + mod(n, 50)",
        "tax_total": "round((100 + mod(n, 50)) * 0.19, 2)",
        "grand_total": "round((100 + mod(n, 50)) * 1.19, 2)",
        "payable_amount": "round((100 + mod(n, 50)) * 1.19, 2)",
    }
    columns, values, params = [], [], {}
    for field in Invoice._meta.concrete_fields:
        column = field.column
        if column == "id":
            continue
        columns.append(connection.ops.quote_name(column))
        if column in varying:
            values.append(varying[column])
            continue
        params[column] = field.get_db_prep_save(getattr(template, field.attname), connection)
        values.append(f"%({column})s")
    params.update(
        customers=customers,
        overdue=overdue_per_customer,
        overdue_due=RUN_DATE - dt.timedelta(days=OVERDUE_DAYS),
        later_due=RUN_DATE + dt.timedelta(days=14),
        total=customers * per_customer,
    )
    # Names and expressions come from the model and this file; the values are parameters.
    insert = (
        f"INSERT INTO {Invoice._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(0, %(total)s - 1) AS n"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        cursor.execute(f"ANALYZE {Invoice._meta.db_table}")
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")


def run(on: dt.date) -> tuple[object, float, float]:
    from faktura.core import clock
    from faktura.core.actors import Actor
    from faktura.dunning.run import run_dunning

    started = time.perf_counter()
    cpu = time.process_time()
    last = [started]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5 or done == total:
            last[0] = time.perf_counter()
            print(f"  {done}/{total} customers, {time.perf_counter() - started:.1f} s")

    with clock.frozen(dt.datetime.combine(on, dt.time(6), tzinfo=dt.UTC)):
        result = run_dunning(on=on, actor=Actor.system("bench"), progress=progress)
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--per-customer", type=int, default=20)
    parser.add_argument("--overdue-per-customer", type=int, default=2)
    parser.add_argument(
        "--letters",
        type=int,
        default=2_000,
        help="then measure the letters of this many notices rendered by --workers (0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    total = args.customers * args.per_customer
    overdue = args.customers * args.overdue_per_customer
    with tempfile.TemporaryDirectory() as data_dir:
        fresh_database()
        setup_django(data_dir)
        started = time.perf_counter()
        prepare(args.customers, args.per_customer, args.overdue_per_customer)
        print(
            f"prepared {total:,} open invoices ({overdue:,} overdue) of {args.customers:,} "
            f"customers in {time.perf_counter() - started:.1f} s"
        )
        print(f"dunning run for {RUN_DATE} (no letters):")
        result, seconds, cpu = run(RUN_DATE)
        assert result.errors == 0, result.error_messages  # type: ignore[attr-defined]
        print(
            f"  {result.customers_checked} customers, {result.invoices_overdue} overdue "  # type: ignore[attr-defined]
            f"invoices, {result.notices_sent} notices sent, {result.fees_charged} fees "  # type: ignore[attr-defined]
            f"in {seconds:.1f} s — target ≤ {TARGET_S:.0f} s: {seconds / TARGET_S:.2f} of the "
            f"allowed time ({cpu:.1f} s CPU in this process; the rest is PostgreSQL and waiting "
            f"for a core, load average {os.getloadavg()[0]:.1f})"
        )
        from faktura.dunning.models import ToDoEntry
        from faktura.notifications.models import OutboxMessage

        digests = OutboxMessage.objects.filter(event="staff_digest").count()
        print(
            f"  staff: {ToDoEntry.objects.count():,} to-do entries, {digests} digest mails "
            f"({MANAGERS} account managers and customer service)"
        )
        # The same date again: nothing is due any more (idempotent), only the look.
        again, seconds_again, _cpu = run(RUN_DATE)
        assert again.notices_sent == 0  # type: ignore[attr-defined]
        assert OutboxMessage.objects.filter(event="staff_digest").count() == digests
        print(f"  the same date again: nothing sent, {seconds_again:.1f} s")
        if args.letters:
            letters(data_dir, args.letters, args.workers)


def letters(data_dir: str, count: int, workers: int) -> None:
    """The letters the run queued, rendered (Typst PDF/A), archived and mailed by the
    workers: the rate over the first ``count`` letters (target ≥ 100 letters/s)."""
    import sys
    from pathlib import Path

    from django.db import connections

    from faktura.dunning.models import NoticeLetter

    connections.close_all()
    env = dict(os.environ, FAKTURA_DATA_DIR=data_dir)
    faktura = str(Path(sys.executable).with_name("faktura"))
    print(f"letters: {workers} worker processes render, archive and mail the queued letters:")
    processes = [
        subprocess.Popen([faktura, "worker"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        # Counted from the first letter archived: the workers' start-up (Django, Typst,
        # fonts) is not the rate.
        while NoticeLetter.objects.count() == 0:
            time.sleep(0.05)
        start_count, started = NoticeLetter.objects.count(), time.perf_counter()
        while (done := NoticeLetter.objects.count()) < start_count + count:
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    rate = (done - start_count) / seconds
    print(
        f"  {done - start_count} letters in {seconds:.1f} s: {rate:.0f} letters/s — target "
        f"≥ {TARGET_LETTERS:.0f}/s: {rate / TARGET_LETTERS:.2f}× the target"
    )


if __name__ == "__main__":
    main()
