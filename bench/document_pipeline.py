"""Benchmark: Faktura's whole document pipeline against a plain Typst render, and throughput.

One run prints, for the same standard invoice (3 lines, as ``samples.standard_rate``):

* raw Typst: ``typst.compile`` of the PDF module's template with the same ``sys.inputs``
  (fresh world, no PDF/A, no attachment) — the approach of ``bench/pdf_render.py``;
* Faktura's pipeline: ``documents.pipeline.process`` for one finalized invoice — snapshot,
  CII, validation (XSD + EN 16931 schematron), PDF/A-3b render with the embedded XML, the
  archive write (file + row + audit) and queueing the mail; median over ``--runs``;
  with the parts (XML + validation, PDF render) measured alone for orientation;
* the ratio pipeline / raw Typst (target ≤ 2×);
* finalized-and-rendered invoices/s: N drafts are finalized with ``finalize_invoices`` in
  chunks (one pipeline task per chunk), then 2 worker processes run half of the tasks
  each (target ≥ 100 invoices/s). Workers start warm (Saxon and Typst loaded), as a
  long-running worker is.

PostgreSQL (``postgres://postgres@127.0.0.1:5432/faktura_bench_docs``, created and dropped
here) by default, ``--backend sqlite`` for a temporary SQLite file. Usage:

    .venv/bin/python bench/document_pipeline.py [--count 2000] [--runs 50] [--backend postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

DB_NAME = "faktura_bench_docs"
POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
CHUNK = 50
WORKERS = 2
TARGET_RATIO = 2.0
TARGET_RATE = 100.0


def setup_django(url: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["FAKTURA_DATA_DIR"] = data_dir
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()


def _median_ms(action: Callable[[int], object], runs: int) -> float:
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _standard_lines() -> list:
    from faktura.invoicing.drafting import LineRequest

    return [
        LineRequest(
            quantity="1",
            name="Faktura Pro Jahreslizenz",
            description="Lizenz für 10 Benutzer, Laufzeit 01.10.2026–30.09.2027",
            unit_price="1200.00",
            tax_rate="de-19",
        ),
        LineRequest(
            quantity="7.5",
            name="Beratung Einführung",
            unit_price="120.00",
            unit_code="HUR",
            tax_rate="de-19",
        ),
        LineRequest(
            quantity="1",
            name="Hosting Oktober 2026",
            unit_price="49.90",
            unit_code="MON",
            tax_rate="de-19",
        ),
    ]


def _prepare_master_data() -> list[int]:
    from faktura.core.actors import Actor
    from faktura.core.models import BankAccount, Company
    from faktura.customers.services import create_customer

    company = Company.objects.create(
        legal_name="Muster Software GmbH",
        street="Friedrichstraße",
        house_number="123",
        postcode="10117",
        city="Berlin",
        register_court="Amtsgericht Berlin-Charlottenburg",
        register_number="HRB 123456 B",
        managing_directors="Erika Mustermann",
        vat_id="DE136695976",
        tax_number="30/123/45678",
        email="rechnung@muster-software.de",
    )
    BankAccount.objects.create(
        company=company,
        bank_name="Musterbank",
        account_holder="Muster Software GmbH",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        is_default=True,
    )
    return [
        create_customer(
            actor=Actor.system("bench"),
            name=f"Beispiel Handel AG {n}",
            street="Hauptstraße",
            house_number="5",
            postcode="80331",
            city="München",
            email=f"buchhaltung{n}@beispiel-handel.de",
            vat_id="DE136695976",
        ).pk
        for n in range(WORKERS)
    ]


def _drafts(customer_ids: list[int], count: int) -> list[int]:
    from faktura.core.actors import Actor
    from faktura.sales.services import place_order

    actor = Actor.system("bench")
    return [
        place_order(
            customer_id=customer_ids[n % len(customer_ids)], actor=actor, lines=_standard_lines()
        ).pk
        for n in range(count)
    ]


def latency(runs: int, customer_ids: list[int]) -> tuple[float, float]:
    """Raw Typst against the full pipeline, for the same standard invoice; return both."""
    import typst
    from django_tasks_db.models import DBTaskResult

    from faktura.core.actors import Actor
    from faktura.documents import pipeline
    from faktura.documents.pdf import render_pdf
    from faktura.documents.pdf.render import TEMPLATE_PATH, font_paths, typst_inputs
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.services import finalize_invoice
    from faktura.invoicing.snapshots import snapshot_for

    actor = Actor.system("bench")
    # Every run is another invoice (another number): Typst memoises layout, identical
    # inputs would measure its cache instead of a render.
    ids = [
        finalize_invoice(invoice_id=draft, actor=actor).pk
        for draft in _drafts(customer_ids[:1], runs + 1)
    ]
    DBTaskResult.objects.all().delete()  # the pipeline is called directly below
    invoices = [Invoice.objects.get(pk=pk) for pk in ids]
    snapshots = [snapshot_for(invoice) for invoice in invoices]
    inputs = [typst_inputs(snapshot) for snapshot in snapshots]
    fonts = font_paths()
    pipeline.warm_up()
    typst.compile(str(TEMPLATE_PATH), root="/", font_paths=fonts, sys_inputs=inputs[0])

    raw_ms = _median_ms(
        lambda run: typst.compile(
            str(TEMPLATE_PATH), root="/", font_paths=fonts, sys_inputs=inputs[run + 1]
        ),
        runs,
    )
    xml_ms = _median_ms(lambda run: pipeline.render_documents(snapshots[run + 1], kinds=()), runs)
    from faktura.documents.einvoice import build_cii

    xmls = [build_cii(snapshot) for snapshot in snapshots]
    pdf_ms = _median_ms(
        lambda run: render_pdf(snapshots[run + 1], einvoice_xml=xmls[run + 1]), runs
    )
    pipeline.process(ids[0])  # first archive write creates the directories
    full_ms = _median_ms(lambda run: pipeline.process(ids[run + 1]), runs)

    print(f"latency, same standard invoice (3 lines), median of {runs} runs:")
    print(f"  raw Typst render (typst.compile, same template and inputs) {raw_ms:8.1f} ms")
    print(f"  Faktura full document pipeline (pipeline.process)          {full_ms:8.1f} ms")
    print(f"    of which CII + validation (XSD, EN 16931)               {xml_ms:8.1f} ms")
    print(f"    of which PDF/A-3b render with embedded XML              {pdf_ms:8.1f} ms")
    print(
        f"    rest: snapshot, archive write (file, row, audit), mail    "
        f"{full_ms - xml_ms - pdf_ms:8.1f} ms"
    )
    ratio = full_ms / raw_ms
    print(
        f"  ratio pipeline / raw Typst {ratio:.2f}× "
        f"(target ≤ {TARGET_RATIO:.0f}×: {'met' if ratio <= TARGET_RATIO else 'NOT met'}, "
        f"{TARGET_RATIO / ratio:.2f}× the target)"
    )
    return raw_ms, full_ms


def _worker(
    url: str, data_dir: str, task_ids: list[str], ready, start, results
) -> None:  # pragma: no cover - runs in a child process
    setup_django(url, data_dir)
    from django_tasks_db.models import DBTaskResult

    from faktura.documents import pipeline

    pipeline.warm_up()
    ready.put(os.getpid())
    start.wait()
    began = time.perf_counter()
    done = 0
    for task_id in task_ids:
        row = DBTaskResult.objects.get(pk=task_id)
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.set_successful(None)
        done += len(row.args_kwargs["args"][0])
    results.put((done, time.perf_counter() - began))


def throughput(url: str, data_dir: str, count: int, customer_ids: list[int]) -> float:
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    from faktura.core.actors import Actor
    from faktura.documents.models import ArchivedDocument
    from faktura.invoicing.services import finalize_invoices
    from faktura.notifications.models import OutboxMessage

    print(f"throughput, {count} standard invoices, {WORKERS} worker processes:")
    drafts = _drafts(customer_ids, count)
    DBTaskResult.objects.all().delete()
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    connections.close_all()

    # Workers load Saxon and Typst first, as a long-running worker has.
    tasks: list[list[str]] = [[] for _ in range(WORKERS)]
    processes: list = []
    began = time.perf_counter()
    actor = Actor.system("bench")
    for offset in range(0, len(drafts), CHUNK):
        finalize_invoices(invoice_ids=drafts[offset : offset + CHUNK], actor=actor)
    finalized_s = time.perf_counter() - began
    for n, task_id in enumerate(
        DBTaskResult.objects.filter(task_path__endswith="process_finalized_documents")
        .order_by("enqueued_at")
        .values_list("pk", flat=True)
    ):
        tasks[n % WORKERS].append(str(task_id))
    connections.close_all()
    for chunk in tasks:
        process = context.Process(
            target=_worker, args=(url, data_dir, chunk, ready, start, results)
        )
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=300)
    rendering_began = time.perf_counter()
    start.set()
    outcomes = [results.get(timeout=3600) for _ in processes]
    rendered_s = time.perf_counter() - rendering_began
    for process in processes:
        process.join()

    archived = ArchivedDocument.objects.count()
    queued = OutboxMessage.objects.count()
    assert archived >= count, f"only {archived} of {count} archived"
    total_s = finalized_s + rendered_s
    rate = count / total_s
    print(
        f"  finalize (finalize_invoices, chunks of {CHUNK}): {finalized_s:6.2f} s "
        f"{count / finalized_s:8.0f} invoices/s"
    )
    for n, (done, seconds) in enumerate(outcomes, 1):
        print(f"  worker {n}: {done} documents in {seconds:6.2f} s {done / seconds:8.1f} /s")
    print(
        f"  render + validate + archive + queue mail: {rendered_s:6.2f} s "
        f"{count / rendered_s:8.1f} invoices/s ({archived} archived, {queued} mails queued)"
    )
    print(
        f"  finalized and rendered: {rate:.1f} invoices/s "
        f"(target ≥ {TARGET_RATE:.0f}/s: {'met' if rate >= TARGET_RATE else 'NOT met'}, "
        f"{rate / TARGET_RATE:.2f}× the target)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faktura-bench-docs-") as data_dir:
        if args.backend == "postgres":
            base = ["-h", "127.0.0.1", "-U", "postgres"]
            subprocess.run(["dropdb", *base, "--if-exists", DB_NAME], check=True)
            subprocess.run(["createdb", *base, DB_NAME], check=True)
            url = POSTGRES_URL
        else:
            url = f"sqlite:///{data_dir}/bench.sqlite3"
        try:
            setup_django(url, data_dir)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            print(f"database: {args.backend}; files: {data_dir}; CPUs: {os.cpu_count()}")
            customers = _prepare_master_data()
            latency(args.runs, customers)
            throughput(url, data_dir, args.count, customers)
        finally:
            if args.backend == "postgres":
                from django.db import connections

                connections.close_all()
                subprocess.run(["dropdb", *base, "--if-exists", DB_NAME], check=True)


if __name__ == "__main__":
    main()
