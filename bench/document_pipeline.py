"""Benchmark: Faktura's whole document pipeline against a plain Typst render, and throughput.

One run prints, for the same standard invoice (3 lines, as ``samples.standard_rate``):

* raw Typst: ``typst.compile`` of the PDF module's template with the same ``sys.inputs``
  (fresh world, no PDF/A, no attachment) — the approach of ``bench/pdf_render.py``;
* Faktura's single-document pipeline: ``documents.pipeline.process`` for one finalized
  invoice (API / back-office finalization) — snapshot, CII, validation (XSD + EN 16931
  schematron), PDF/A-3b render with the embedded XML, the archive write (file + row +
  audit) and queueing the mail; median over ``--runs``, with where its time goes;
* the ratio pipeline / raw Typst (target ≤ 2×);
* finalized-and-rendered invoices/s: N drafts are finalized with ``finalize_invoices`` in
  chunks of ``--chunk`` (one ``process_finalized_documents`` task per chunk, as a billing
  run does) while ``--workers`` worker processes pull those tasks from the database queue
  (``SELECT … FOR UPDATE SKIP LOCKED``, as django-tasks-db's worker does) as soon as each
  chunk commits and run the chunked pipeline (``pipeline.process_many``); the figure is
  invoices / (first finalization → last archive row) (target ≥ 100 invoices/s with 2
  workers). Workers start warm (Saxon and Typst loaded), as a long-running worker is;
* where the time of a document goes on that path: wall time per step measured inside the
  workers (Typst, the rest of the PDF, CII, validation, mail, files, database), CPU time of
  the workers and of their PostgreSQL backends, and how busy the machine was meanwhile
  (other processes included), so a figure taken on a loaded machine can be read.

``--profile N`` adds a cProfile of one worker process running N chunks (top functions).

PostgreSQL (``postgres://postgres@127.0.0.1:5432/faktura_bench_docs``, created and dropped
here) by default, ``--backend sqlite`` for a temporary SQLite file. Usage:

    .venv/bin/python bench/document_pipeline.py [--count 2000] [--runs 50] [--chunk 100]
        [--workers 2] [--backend postgres] [--profile 4]
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

DB_NAME = "faktura_bench_docs"
POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
WORKERS = 2
TARGET_RATIO = 2.0
TARGET_RATE = 100.0
TICKS = os.sysconf("SC_CLK_TCK")


def setup_django(url: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["FAKTURA_DATA_DIR"] = data_dir
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
    import django

    django.setup()


# --------------------------------------------------------------------------- measuring


class Probe:
    """Wall time per pipeline step, exclusive of the steps nested in it, per process.

    Wraps module attributes (the names the pipeline calls at run time), so nothing of the
    pipeline changes; a wrapper costs about a microsecond.
    """

    # (module, attribute, step); the order only matters for nesting, not for the result.
    POINTS = (
        ("faktura.documents.pipeline", "process", "database and the rest"),
        ("faktura.documents.pipeline", "process_many", "database and the rest"),
        ("faktura.documents.pipeline", "_record_and_queue", "database: write transaction"),
        ("faktura.documents.pipeline", "_record_chunk", "database: write transaction"),
        ("faktura.documents.pipeline", "snapshot_of", "snapshot"),
        ("faktura.documents.pipeline", "build_cii", "e-invoice XML (CII/UBL)"),
        ("faktura.documents.pipeline", "build_ubl", "e-invoice XML (CII/UBL)"),
        ("faktura.documents.pipeline", "validate", "validation (XSD + schematron)"),
        ("faktura.documents.pipeline", "render_pdf", "PDF: context, QR, pikepdf"),
        ("faktura.documents.pdf.render", "_compile", "PDF: Typst compile"),
        ("faktura.documents.pipeline", "store_file", "archive files (storage)"),
        ("faktura.notifications.mail", "compose", "mail composition"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._children: list[float] = []

    def install(self) -> Probe:
        import importlib

        for module_name, attribute, step in self.POINTS:
            module = importlib.import_module(module_name)
            if hasattr(module, attribute):  # older code may lack a step (process_many)
                setattr(module, attribute, self._wrap(getattr(module, attribute), step))
        return self

    def _wrap(self, function: Callable[..., Any], step: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._children.append(0.0)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds[step] += elapsed - self._children.pop()
                if self._children:
                    self._children[-1] += elapsed

        return timed

    def reset(self) -> None:
        self.seconds.clear()


def _process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the given processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def _machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


def _postgres_pids() -> list[int]:
    """Our database's backends and the server's own processes (WAL writer, checkpointer)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type <> %s",
            [connection.settings_dict["NAME"], "client backend"],
        )
        return [row[0] for row in cursor.fetchall()]


def _median_ms(action: Callable[[int], object], runs: int) -> float:
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _print_steps(seconds: dict[str, float], documents: int, total_ms: float) -> None:
    measured = sum(seconds.values()) * 1000 / documents
    for step, value in sorted(seconds.items(), key=lambda item: -item[1]):
        ms = value * 1000 / documents
        print(f"      {step:<38} {ms:7.2f} ms {100 * ms / total_ms:5.1f} %")
    print(f"      {'(measured steps, sum)':<38} {measured:7.2f} ms")


# --------------------------------------------------------------------------- data


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


def _prepare_master_data(customers: int) -> list[int]:
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
        for n in range(customers)
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


# --------------------------------------------------------------------------- latency


def latency(runs: int, customer_ids: list[int]) -> dict[str, float]:
    """Raw Typst against the single-document pipeline, for the same standard invoice."""
    import typst
    from django_tasks_db.models import DBTaskResult

    from faktura.core.actors import Actor
    from faktura.documents import pipeline
    from faktura.documents.einvoice import build_cii
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

    xml_ms = _median_ms(lambda run: pipeline.render_documents(snapshots[run + 1], kinds=()), runs)
    xmls = [build_cii(snapshot) for snapshot in snapshots]
    pdf_ms = _median_ms(
        lambda run: render_pdf(snapshots[run + 1], einvoice_xml=xmls[run + 1]), runs
    )
    pipeline.process(ids[0])  # first archive write creates the directories
    probe = Probe().install()
    # Raw and full alternate, so a change in the machine's load hits both alike.
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, action: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        action(*args, **kwargs)
        timings[name].append((time.perf_counter() - started) * 1000)
        timings[f"{name} cpu"].append((time.process_time() - cpu) * 1000)

    for run in range(1, runs + 1):
        timed(
            "raw",
            typst.compile,
            str(TEMPLATE_PATH),
            root="/",
            font_paths=fonts,
            sys_inputs=inputs[run],
        )
        timed("full", pipeline.process, ids[run])
    raw_ms, full_ms = statistics.median(timings["raw"]), statistics.median(timings["full"])
    raw_cpu, full_cpu = (
        statistics.median(timings["raw cpu"]),
        statistics.median(timings["full cpu"]),
    )

    print(f"latency, same standard invoice (3 lines), median of {runs} runs:")
    print(f"  raw Typst render (typst.compile, same template and inputs) {raw_ms:8.1f} ms")
    print(f"  Faktura single-document pipeline (pipeline.process)      {full_ms:8.1f} ms")
    print(f"    alone: CII + validation (XSD, EN 16931)                {xml_ms:8.1f} ms")
    print(f"    alone: PDF/A-3b render with embedded XML               {pdf_ms:8.1f} ms")
    print(
        f"    CPU of this process (median): raw Typst {raw_cpu:.1f} ms, pipeline "
        f"{full_cpu:.1f} ms ({full_cpu / raw_cpu:.2f}×; PostgreSQL's share not included)"
    )
    print("    where the time goes (mean per document):")
    _print_steps(probe.seconds, runs, full_ms)
    ratio = full_ms / raw_ms
    print(
        f"  ratio pipeline / raw Typst {ratio:.2f}× "
        f"(target ≤ {TARGET_RATIO:.0f}×: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    return {"raw_ms": raw_ms, "full_ms": full_ms, "ratio": ratio}


# --------------------------------------------------------------------------- throughput


def _claim_next(worker_id: str) -> Any:
    """Claim the next ready pipeline task as django-tasks-db's worker does."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        row = (
            DBTaskResult.objects.ready()
            .filter(task_path__endswith="process_finalized_documents")
            .order_by("enqueued_at")
            .select_for_update(skip_locked=True)
            .first()
        )
        if row is not None:
            row.claim(worker_id)
    return row


def _run_tasks(worker_id: str, finalized: Any = None) -> tuple[int, int]:
    """Run ready pipeline tasks until the queue is empty and, if given, ``finalized`` is set
    (the billing run has committed its last chunk); poll while it is still finalizing."""
    done = chunks = 0
    while True:
        row = _claim_next(worker_id)
        if row is None:
            if finalized is None or finalized.is_set():
                if _claim_next_exists():
                    continue
                return done, chunks
            time.sleep(0.002)
            continue
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.set_successful(None)
        done += len(row.args_kwargs["args"][0])
        chunks += 1


def _claim_next_exists() -> bool:
    from django_tasks_db.models import DBTaskResult

    return (
        DBTaskResult.objects.ready()
        .filter(task_path__endswith="process_finalized_documents")
        .exists()
    )


def _worker(
    url: str, data_dir: str, ready, start, finalized, results, leave
) -> None:  # pragma: no cover - runs in a child process
    setup_django(url, data_dir)
    from django.db import connection

    from faktura.documents import pipeline

    pipeline.warm_up()
    probe = Probe().install()
    connection.ensure_connection()
    ready.put(os.getpid())
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    done, chunks = _run_tasks(f"bench-{os.getpid()}", finalized)
    seconds = time.perf_counter() - began
    results.put(
        {
            "done": done,
            "chunks": chunks,
            "seconds": seconds,
            "cpu": time.process_time() - cpu,
            "steps": dict(probe.seconds),
        }
    )
    leave.wait()  # keep the connection (and its backend's CPU counters) until measured


def throughput(
    url: str, data_dir: str, count: int, chunk: int, workers: int, customer_ids: list[int]
) -> dict[str, float]:
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    from faktura.core.actors import Actor
    from faktura.documents.models import ArchivedDocument
    from faktura.invoicing.services import finalize_invoices
    from faktura.notifications.models import OutboxMessage

    print(
        f"throughput, {count} standard invoices, chunks of {chunk}, "
        f"{workers} worker processes (chunked path, pipeline.process_many):"
    )
    drafts = _drafts(customer_ids, count)
    DBTaskResult.objects.all().delete()
    before_documents = ArchivedDocument.objects.count()
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    start, finalized, leave = context.Event(), context.Event(), context.Event()
    connections.close_all()

    # Workers load Saxon and Typst first, as a long-running worker has.
    processes = [
        context.Process(
            target=_worker, args=(url, data_dir, ready, start, finalized, results, leave)
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    worker_pids = [ready.get(timeout=300) for _ in processes]

    # As in a billing run: this process finalizes chunk after chunk, each commit enqueues
    # the chunk's task, and the workers render while the next chunks are finalized.
    pg_pids = _postgres_pids()  # every backend: this process's and the workers'
    pg_before = _process_cpu_seconds(pg_pids)
    workers_before = _process_cpu_seconds(worker_pids)
    busy_before = _machine_busy_seconds()
    cpu_before = time.process_time()
    began = time.perf_counter()
    start.set()
    actor = Actor.system("bench")
    for offset in range(0, len(drafts), chunk):
        finalize_invoices(invoice_ids=drafts[offset : offset + chunk], actor=actor)
    finalized.set()
    finalized_s = time.perf_counter() - began
    finalize_cpu = time.process_time() - cpu_before
    outcomes = [results.get(timeout=3600) for _ in processes]
    total_s = time.perf_counter() - began
    busy_after = _machine_busy_seconds()
    pg_cpu = _process_cpu_seconds(pg_pids) - pg_before
    workers_cpu = _process_cpu_seconds(worker_pids) - workers_before
    leave.set()
    for process in processes:
        process.join()

    archived = ArchivedDocument.objects.count() - before_documents
    queued = OutboxMessage.objects.filter(invoice_id__in=drafts).count()
    assert archived == count, f"{archived} of {count} archived"
    assert queued == count, f"{queued} of {count} mails queued"
    rate = count / total_s
    cores = os.cpu_count() or 1
    print(
        f"  finalize (finalize_invoices, chunks of {chunk}, 1 process, while the workers "
        f"render): done after {finalized_s:6.2f} s; "
        f"CPU per invoice {finalize_cpu * 1000 / count:.2f} ms"
    )
    for n, outcome in enumerate(outcomes, 1):
        print(
            f"  worker {n}: {outcome['done']} documents ({outcome['chunks']} chunks) in "
            f"{outcome['seconds']:6.2f} s {outcome['done'] / outcome['seconds']:7.1f} /s, "
            f"CPU {outcome['cpu'] * 1000 / outcome['done']:.1f} ms per document"
        )
    busy = (busy_after - busy_before) / total_s
    ours = (workers_cpu + pg_cpu + finalize_cpu) / total_s
    print(
        f"  finalize + render + validate + archive + queue mail: {total_s:6.2f} s "
        f"({archived} archived, {queued} mails queued)"
    )
    print(
        f"    machine busy {busy:.2f} of {cores} cores: billing run + workers + PostgreSQL "
        f"{ours:.2f}, other processes {max(busy - ours, 0):.2f}"
    )
    worker_ms = workers_cpu * 1000 / count
    pg_ms = pg_cpu * 1000 / count
    finalize_ms = finalize_cpu * 1000 / count
    cpu_ms = worker_ms + pg_ms + finalize_ms
    print(
        f"    CPU per invoice: finalization {finalize_ms:.1f} ms + workers {worker_ms:.1f} ms "
        f"+ PostgreSQL {pg_ms:.1f} ms = {cpu_ms:.1f} ms"
    )
    steps: dict[str, float] = defaultdict(float)
    for outcome in outcomes:
        for step, seconds in outcome["steps"].items():
            steps[step] += seconds
    wall_ms = sum(o["seconds"] for o in outcomes) * 1000 / count
    print(f"    where a worker's time goes per document ({wall_ms:.1f} ms wall in all):")
    _print_steps(steps, count, wall_ms)
    ceiling = cores * 1000 / cpu_ms
    print(
        f"  finalized and rendered: {rate:.1f} invoices/s "
        f"(target ≥ {TARGET_RATE:.0f}/s: {'met' if rate >= TARGET_RATE else 'NOT met'}, "
        f"{rate / TARGET_RATE:.2f}× the target)"
    )
    print(
        f"    CPU-bound ceiling on {cores} idle cores: {ceiling:.0f} invoices/s "
        f"({cores} × 1000 ms / {cpu_ms:.1f} ms CPU per invoice)"
    )
    return {"rate": rate, "ceiling": ceiling, "cpu_ms": cpu_ms}


def profile(chunks: int, chunk: int, customer_ids: list[int], out: str | None) -> None:
    """cProfile one worker (this process) running ``chunks`` chunks; print the top."""
    import cProfile
    import pstats

    from django_tasks_db.models import DBTaskResult

    from faktura.core.actors import Actor
    from faktura.documents import pipeline
    from faktura.invoicing.services import finalize_invoices

    drafts = _drafts(customer_ids, chunks * chunk)
    DBTaskResult.objects.all().delete()
    for offset in range(0, len(drafts), chunk):
        finalize_invoices(invoice_ids=drafts[offset : offset + chunk], actor=Actor.system("bench"))
    pipeline.warm_up()
    profiler = cProfile.Profile()
    profiler.enable()
    done, _chunks = _run_tasks("bench-profile")
    profiler.disable()
    print(f"cProfile of one worker, {done} documents ({chunks} chunks), top by own time:")
    stats = pstats.Stats(profiler)
    if out:
        stats.dump_stats(out)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--chunk", type=int, default=None, help="default: documents.pipeline.CHUNK_SIZE"
    )
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--profile", type=int, default=0, metavar="CHUNKS")
    parser.add_argument("--profile-out", default=None)
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
            load = os.getloadavg()
            print(
                f"database: {args.backend}; files: {data_dir}; CPUs: {os.cpu_count()}; "
                f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
            )
            customers = _prepare_master_data(args.customers)
            single = latency(args.runs, customers)
            from faktura.documents.pipeline import CHUNK_SIZE

            chunk = args.chunk or CHUNK_SIZE
            chunked = throughput(url, data_dir, args.count, chunk, args.workers, customers)
            print("summary:")
            print(
                f"  raw Typst {single['raw_ms']:.1f} ms, single-document pipeline "
                f"{single['full_ms']:.1f} ms: {single['ratio']:.2f}× "
                f"(target ≤ {TARGET_RATIO:.0f}×)"
            )
            print(
                f"  finalized and rendered with {args.workers} workers: "
                f"{chunked['rate']:.1f} invoices/s = {chunked['rate'] / TARGET_RATE:.2f}× "
                f"the {TARGET_RATE:.0f}/s target (CPU-bound ceiling here "
                f"{chunked['ceiling']:.0f}/s at "
                f"{chunked['cpu_ms']:.1f} ms CPU per invoice)"
            )
            if args.profile:
                profile(args.profile, chunk, customers, args.profile_out)
        finally:
            if args.backend == "postgres":
                from django.db import connections

                connections.close_all()
                subprocess.run(["dropdb", *base, "--if-exists", DB_NAME], check=True)


if __name__ == "__main__":
    main()
