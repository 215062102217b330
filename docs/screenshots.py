"""Take the screenshots of the user guide (docs/screenshots/*.png) from the demo data.

Starts Faktura on the demo data in a temporary data directory, signs in as the demo
accountant in Debian's Chromium (Playwright) and saves the pages the guide shows; then
opens the portal as a demo customer through a sign-in link.

    .venv/bin/python docs/screenshots.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "screenshots"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def faktura(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "faktura.cli", *args], env=env, check=True, capture_output=True
    )
    return done.stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "FAKTURA_DATA_DIR": data_dir, "FAKTURA_PORTAL_URL": f"{base}/portal/"}
        env.pop("DATABASE_URL", None)
        faktura(env, "migrate", "--verbosity", "0")
        faktura(env, "demo", "--verbosity", "0")
        # The documents' PDFs and mails, as the worker of `make run` would make them.
        faktura(env, "worker", "--batch", "--no-startup-delay")
        ids = faktura(env, "shell", "-c", SAMPLE_IDS).strip().splitlines()[-1].split()
        invoice_id, customer_id, portal_link = ids
        server = subprocess.Popen(
            [sys.executable, "-m", "faktura.cli", "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
        )
        try:
            for _ in range(100):
                try:
                    # The server this script started on 127.0.0.1, over http.
                    urllib.request.urlopen(f"{base}/health/live", timeout=1)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="de-DE")
                page.goto(f"{base}/login/")
                page.fill("input[name=username]", "buchhaltung")
                page.fill("input[name=password]", "faktura-demo")
                page.get_by_role("button", name="Anmelden").click()
                page.wait_for_url(f"{base}/")
                shots = {
                    "start": "/",
                    "aufgaben": "/aufgaben/",
                    "rechnungen": "/rechnungen/",
                    "rechnung": f"/rechnungen/{invoice_id}/",
                    "kunde": f"/kunden/{customer_id}/",
                    "mahnwesen": "/mahnwesen/",
                }
                for name, path in shots.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
                    print(f"{name}: {path}")
                customer = browser.new_page(viewport={"width": 1280, "height": 860}, locale="de-DE")
                customer.goto(portal_link)
                customer.get_by_role("button", name="Jetzt anmelden").click()
                customer.wait_for_load_state("networkidle")
                customer.screenshot(path=str(OUT / "portal.png"))
                print("portal")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


# Printed by `faktura shell`: an invoice and a customer of the demo data, and a portal
# sign-in link of that customer.
SAMPLE_IDS = """
from faktura.invoicing.models import Invoice
from faktura.customers.portal import document_link
invoice = Invoice.objects.filter(status="finalized", kind="invoice").order_by("pk").first()
link = document_link(customer_id=invoice.customer_id, invoice_id=invoice.pk)
print(invoice.pk, invoice.customer_id, link)
"""


if __name__ == "__main__":
    main()
