"""Benchmark: Faktura's PDF pipeline against a plain Typst render of the same template.

Prints median milliseconds for
* raw: ``typst.compile`` of the template with the same inputs (fresh world, no PDF/A, no
  attachment) — the figure the pipeline is measured against;
* warm raw: the same on a long-lived ``typst.Compiler`` (what Typst itself costs per page);
* Faktura: ``render_pdf`` (PDF/A-3b, embedded Factur-X XML, XMP edit with pikepdf),
and the ratio Faktura / raw, for the 1-page standard invoice and the 60-line invoice.
Target: Faktura ≤ 2 × raw.

Run: .venv/bin/python bench/pdf_render.py [runs]
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import typst
from pypdf import PdfReader

from faktura.documents.einvoice.cii import build_cii
from faktura.documents.pdf import render_pdf
from faktura.documents.pdf.render import TEMPLATE_PATH, font_paths, typst_inputs
from faktura.documents.samples import sample_snapshots
from faktura.documents.snapshot import DocumentSnapshot


def _median_ms(action: Callable[[int], object], runs: int) -> float:
    action(-1)  # warm-up: fonts, template, caches
    timings = []
    for run in range(runs):
        start = time.perf_counter()
        action(run)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    samples = sample_snapshots()
    fonts = font_paths()
    print(f"median of {runs} runs, ms")
    print(
        f"{'document':<28}{'raw':>9}{'warm raw':>10}{'Faktura':>10}{'ratio':>8}{'pages':>7}"
        f"{'KiB':>9}"
    )
    for name in ("standard_rate", "multi_page"):
        base = samples[name]
        # Every run renders another document number: Typst memoises layout, and identical
        # inputs would measure its cache instead of a render.
        variants = [replace(base, number=f"{base.number}-{run + 2}") for run in range(-1, runs)]
        xmls = [build_cii(snapshot) for snapshot in variants]
        inputs = [typst_inputs(snapshot) for snapshot in variants]
        warm = typst.Compiler(str(TEMPLATE_PATH), root="/", font_paths=fonts)

        def raw(run: int, inputs: list[dict[str, str]] = inputs) -> object:
            return typst.compile(
                str(TEMPLATE_PATH), root="/", font_paths=fonts, sys_inputs=inputs[run + 1]
            )

        def warm_raw(
            run: int, inputs: list[dict[str, str]] = inputs, warm: typst.Compiler = warm
        ) -> object:
            return warm.compile(sys_inputs=inputs[run + 1])

        def faktura(
            run: int, variants: list[DocumentSnapshot] = variants, xmls: list[bytes] = xmls
        ) -> bytes:
            return render_pdf(variants[run + 1], einvoice_xml=xmls[run + 1])

        raw_ms = _median_ms(raw, runs)
        warm_ms = _median_ms(warm_raw, runs)
        faktura_ms = _median_ms(faktura, runs)
        pages = len(PdfReader(io.BytesIO(faktura(0))).pages)
        size_kb = len(faktura(0)) / 1024
        label = f"{name} ({len(base.lines)} lines)"
        print(
            f"{label:<28}{raw_ms:>9.1f}{warm_ms:>10.1f}{faktura_ms:>10.1f}"
            f"{faktura_ms / raw_ms:>8.2f}{pages:>7}{size_kb:>9.0f}"
        )


if __name__ == "__main__":
    main()
