"""Create and finalize N invoices through the services; print invoices/s on SQLite and PostgreSQL.

Target (issue 2): ≥ 500 finalized invoices/s on PostgreSQL on a 2-core machine, without
document rendering. Two figures per database: one `finalize_invoice` call (and transaction)
per invoice, as the API and back office do, and `finalize_invoices` in chunks of 200, as the
billing run does. Each run uses a fresh database. Usage:

    .venv/bin/python bench/finalize_invoices.py [N] [--workers W]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/faktura_bench"
)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()


def prepare(url: str, count: int, workers: int) -> list[list[int]]:
    """Fresh schema, a company, one customer per worker and ``count`` drafts."""
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from faktura.core.actors import Actor
    from faktura.core.models import BankAccount, Company
    from faktura.customers.services import create_customer
    from faktura.invoicing.drafting import LineRequest
    from faktura.sales.services import place_order

    company = Company.objects.create(
        legal_name="Bench GmbH",
        street="Weg",
        house_number="1",
        postcode="10115",
        city="Berlin",
        vat_id="DE136695976",
        email="bench@example.org",
    )
    BankAccount.objects.create(
        company=company, account_holder="Bench GmbH", iban="DE02120300000000202051", is_default=True
    )
    actor = Actor.system("bench")
    ids: list[list[int]] = [[] for _ in range(workers)]
    started = time.perf_counter()
    for worker in range(workers):
        customer = create_customer(
            actor=actor,
            name=f"Kunde {worker}",
            street="Weg",
            postcode="10115",
            city="Berlin",
            email=f"k{worker}@example.org",
        )
        for _ in range(count // workers):
            invoice = place_order(
                customer_id=customer.pk,
                actor=actor,
                lines=[
                    LineRequest(
                        quantity="2", name="Beratung", unit_price="120.00", tax_rate="de-19"
                    ),
                    LineRequest(quantity="1", name="Handbuch", unit_price="39.90", tax_rate="de-7"),
                ],
            )
            ids[worker].append(invoice.pk)
    created = time.perf_counter() - started
    print(f"  created {count} drafts (order → draft) in {created:.2f} s: {count / created:,.0f}/s")
    return ids


CHUNK = 200


def finalize(url: str, ids: list[int], batch: bool, queue: multiprocessing.Queue) -> None:
    setup_django(url)
    from faktura.core.actors import Actor
    from faktura.invoicing.services import finalize_invoice, finalize_invoices

    actor = Actor.system("bench")
    started = time.perf_counter()
    if batch:
        for start in range(0, len(ids), CHUNK):
            finalize_invoices(invoice_ids=ids[start : start + CHUNK], actor=actor)
    else:
        for invoice_id in ids:
            finalize_invoice(invoice_id=invoice_id, actor=actor)
    queue.put(time.perf_counter() - started)


def run(label: str, url: str, count: int, workers: int) -> float:
    print(f"{label}: {count} invoices, {workers} worker process(es)")
    ids = prepare(url, count, workers)
    half = [chunk[: len(chunk) // 2] for chunk in ids]
    rest = [chunk[len(chunk) // 2 :] for chunk in ids]
    single = _timed(url, half, batch=False)
    batch = _timed(url, rest, batch=True)
    print(f"  one transaction per invoice:  {single:,.0f} invoices/s")
    print(f"  chunks of {CHUNK} (billing run): {batch:,.0f} invoices/s")
    return batch


def _timed(url: str, ids: list[list[int]], *, batch: bool) -> float:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=finalize, args=(url, chunk, batch, queue)) for chunk in ids]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return sum(len(chunk) for chunk in ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            # SQLite serializes writers: one process is its honest figure.
            child = [
                sys.executable,
                __file__,
                str(args.count),
                "--workers",
                "1",
                "--backend",
                "_sqlite",
                "--data",
                directory,
            ]
            subprocess.run(child, check=True)
    if args.backend in ("postgres", "both"):
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "faktura_bench"],
            check=True,
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", "faktura_bench"], check=True
        )
        rate = run("PostgreSQL", POSTGRES_URL, args.count, args.workers)
        print(f"  target ≥ 500 invoices/s (billing run): {rate / 500:.2f}× the target")


if __name__ == "__main__":
    if "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "_sqlite":
        data = sys.argv[sys.argv.index("--data") + 1]
        os.environ["FAKTURA_DATA_DIR"] = data
        count = int(sys.argv[1])
        run("SQLite", f"sqlite:///{data}/bench.sqlite3", count, 1)
    else:
        main()
