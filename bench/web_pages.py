"""Back-office pages on PostgreSQL with 200,000 invoices: start page, invoice list (filtered
and searched) and invoice detail, p95 over 50 requests each (target ≤ 300 ms, back-office
issue).

The data are those of ``bench/reports.py`` (written straight into the tables, not through
the services): 10,000 customers with 20 invoices each over 350 days, most paid, 5 % open,
5 % half paid, every 100th credited in part. The pages are requested in one process with
Django's test client as a signed-in accountant (session, middleware, templates and queries
as in production; no network between), after one warm-up request each. Printed per page:
p50, p95, the ratio of p95 to the target, and the load average (the machine is shared).

Usage:

    .venv/bin/python bench/web_pages.py [--customers 10000] [--per-customer 20] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DATABASE = "faktura_bench_web"
TARGET_MS = 300.0
REQUESTS = 50


def database_exists(name: str) -> bool:
    listed = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SELECT datname FROM pg_database"],
        capture_output=True,
        text=True,
        check=True,
    )
    return name in listed.stdout.split()


def measure(label: str, paths: Callable[[], str], client: object) -> None:
    get = client.get  # type: ignore[attr-defined]
    response = get(paths())
    assert response.status_code == 200, (label, response.status_code)
    timings = []
    for _ in range(REQUESTS):
        path = paths()
        started = time.perf_counter()
        response = get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"{label}: p50 {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms — target ≤ "
        f"{TARGET_MS:.0f} ms: {p95 / TARGET_MS:.2f} of the allowed time "
        f"(load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--per-customer", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep an existing database")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import reports  # the data of the reports benchmark

    reports.POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    fresh = not (args.reuse and database_exists(DATABASE))
    with tempfile.TemporaryDirectory() as data_dir:
        if fresh:
            reports.fresh_database()
        reports.setup_django(data_dir)
        if fresh:
            started = time.perf_counter()
            reports.prepare(args.customers, args.per_customer)
            total = args.customers * args.per_customer
            print(f"prepared {total:,} invoices in {time.perf_counter() - started:.1f} s")

        from django.conf import settings
        from django.contrib.auth.models import Group, User
        from django.test import Client

        from faktura.core import clock
        from faktura.invoicing.models import Invoice

        settings.ALLOWED_HOSTS = ["*"]
        user, _ = User.objects.get_or_create(username="bench-buchhaltung")
        user.groups.add(Group.objects.get_or_create(name="accountant")[0])
        client = Client()
        client.force_login(user)
        ids = list(Invoice.objects.filter(kind="invoice").values_list("pk", flat=True))
        customers = list(Invoice.objects.values_list("customer__name", flat=True).distinct()[:500])
        rng = random.Random(7)
        import datetime as dt

        with clock.frozen(dt.datetime.combine(reports.REPORT_DATE, dt.time(10), tzinfo=dt.UTC)):
            print(f"{len(ids):,} invoices; {REQUESTS} requests per page after one warm-up")
            measure("start page", lambda: "/", client)
            measure("invoice list, overdue", lambda: "/rechnungen/?status=overdue", client)
            measure(
                "invoice list, searched by customer",
                lambda: f"/rechnungen/?q={rng.choice(customers).replace(' ', '+')}",
                client,
            )
            measure(
                "invoice list, searched by number",
                lambda: f"/rechnungen/?q=RE-2026-{rng.randrange(len(ids)):07d}",
                client,
            )
            measure("invoice detail", lambda: f"/rechnungen/{rng.choice(ids)}/", client)


if __name__ == "__main__":
    main()
