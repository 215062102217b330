"""Time `faktura check`'s integrity checks as the installation grows; print the time per
document at N and 2N finalized, archived invoices (linear: the same figure twice) and the
growth of the process's peak memory (streaming: it stays flat).

Builds the data through the services on a fresh PostgreSQL database: drafts copied from one
template, finalized in chunks (`finalize_invoices`), each with an archived PDF of a few
bytes and its `document.archived` entry. Usage:

    .venv/bin/python bench/integrity_check.py [N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time

URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/faktura_check_bench")
CHUNK = 200


def setup(data_dir: str) -> None:
    os.environ["DATABASE_URL"] = URL
    os.environ["FAKTURA_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def grow(count: int, customers: list, actor) -> None:
    """Add ``count`` finalized invoices with an archived PDF each."""
    from django.db import transaction

    from faktura.core import audit
    from faktura.documents import archive
    from faktura.documents.models import ArchivedDocument
    from faktura.invoicing.drafting import LineRequest
    from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
    from faktura.invoicing.services import finalize_invoices
    from faktura.sales.services import place_order

    per_customer = count // len(customers)
    for customer in customers:
        template = place_order(
            customer_id=customer.pk,
            actor=actor,
            lines=[
                LineRequest(quantity="2", name="Beratung", unit_price="120.00", tax_rate="de-19")
            ],
        )
        line, tax = template.lines.get(), template.taxes.get()
        copies = Invoice.objects.bulk_create(
            [
                Invoice(
                    **{
                        f.attname: getattr(template, f.attname)
                        for f in Invoice._meta.concrete_fields
                        if f.attname not in ("id", "order_id")
                    }
                )
                for _ in range(per_customer - 1)
            ]
        )
        parts = [(InvoiceLine, line), (InvoiceTax, tax)]
        for model, row in parts:
            fields = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
            fields.pop("id")
            model.objects.bulk_create([model(**{**fields, "invoice_id": c.pk}) for c in copies])
        ids = [template.pk, *(c.pk for c in copies)]
        for start in range(0, len(ids), CHUNK):
            invoices = finalize_invoices(invoice_ids=ids[start : start + CHUNK], actor=actor)
            stored = [
                archive.store_file(
                    invoice=invoice, kind="pdf", content=f"%PDF-1.7\n{invoice.number}\n".encode()
                )
                for invoice in invoices
            ]
            with transaction.atomic():
                pairs = [
                    archive.new_row(invoice=invoice, stored=file)
                    for invoice, file in zip(invoices, stored, strict=True)
                ]
                ArchivedDocument.objects.bulk_create([row for row, _ in pairs])
                audit.record_many(actor=actor, entries=[entry for _, entry in pairs])


def timed_check() -> tuple[float, str]:
    """Time the whole check, then each of its parts in one snapshot."""
    from faktura.core import integrity
    from faktura.core.audit import verify_chains

    started = time.perf_counter()
    problems = list(integrity.all_problems())
    elapsed = time.perf_counter() - started
    assert not problems, problems[:5]
    parts = [
        ("chains", verify_chains),
        ("finalized", integrity.finalized_document_problems),
        ("numbers", integrity.number_range_problems),
        *((check.__name__, check) for check in integrity.EXTRA_CHECKS),
    ]
    figures = []
    with integrity.consistent_snapshot():
        for name, check in parts:
            started = time.perf_counter()
            list(check())
            figures.append(f"{name} {time.perf_counter() - started:.2f} s")
    return elapsed, ", ".join(figures)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=5000)
    args = parser.parse_args()
    for command in ("dropdb", "createdb"):
        extra = ["--if-exists"] if command == "dropdb" else []
        subprocess.run(
            [command, "-h", "127.0.0.1", "-U", "postgres", *extra, "faktura_check_bench"],
            check=True,
        )
    import tempfile

    with tempfile.TemporaryDirectory() as data_dir:
        setup(data_dir)
        from faktura.core.actors import Actor
        from faktura.core.models import BankAccount, Company
        from faktura.customers.services import create_customer

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
            company=company,
            account_holder="Bench GmbH",
            iban="DE02120300000000202051",
            is_default=True,
        )
        actor = Actor.system("bench")
        customers = [
            create_customer(
                actor=actor,
                name=f"Kunde {n}",
                street="Weg",
                postcode="10115",
                city="Berlin",
                email=f"k{n}@example.org",
            )
            for n in range(10)
        ]
        for size in (args.count, 2 * args.count):
            grow(args.count, customers, actor)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            elapsed, parts = timed_check()
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            print(
                f"PostgreSQL, {size} invoices archived: check {elapsed:.2f} s, "
                f"{elapsed / size * 1000:.2f} ms per invoice, peak memory +{grown / 1024:.1f} MB"
            )
            print(f"  {parts}")


if __name__ == "__main__":
    main()
