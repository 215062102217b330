"""Benchmark: what the fallback fonts (Arabic, Hebrew, CJK and Hangul) cost per process and per
document.

Prints milliseconds for
* start: the first render of a process (Typst compiler with every font folder, template);
* coverage: reading what the fonts cover (``fonts.covered_codepoints``, once per process,
  on the first text check);
* per document: the median ``render_pdf`` of the standard invoice with the buyer's name in
  each script (Latin is what nearly every invoice is; the rest need a fallback font).

Run: .venv/bin/python bench/pdf_fonts.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace

from faktura.documents.einvoice.cii import build_cii
from faktura.documents.pdf import fonts, render_pdf
from faktura.documents.samples import sample_snapshots

NAMES = {
    "Latin": "Beispiel Handel AG",
    "Greek": "Ελένη Παπαδοπούλου",
    "Arabic": "محمد عبد الله",
    "Hebrew": "שרה לוי",
    "Chinese": "王小明",
    "Hangul": "홍길동",
}


def main(runs: int) -> None:
    sample = sample_snapshots()["standard_rate"]
    start = time.perf_counter()
    render_pdf(sample, einvoice_xml=build_cii(sample))
    print(f"start (first render of a process): {(time.perf_counter() - start) * 1000:8.1f} ms")
    start = time.perf_counter()
    covered = fonts.covered_codepoints()
    print(
        f"coverage ({len(covered or ())} code points):  "
        f"{(time.perf_counter() - start) * 1000:8.1f} ms (once per process)"
    )
    for script, name in NAMES.items():
        snapshot = replace(sample, buyer=replace(sample.buyer, name=name))
        xml = build_cii(snapshot)
        render_pdf(snapshot, einvoice_xml=xml)  # the font's first use in this process
        timings = []
        for _ in range(runs):
            begin = time.perf_counter()
            render_pdf(snapshot, einvoice_xml=xml)
            timings.append((time.perf_counter() - begin) * 1000)
        print(f"per document, {script:<8} name: {statistics.median(timings):8.1f} ms (median)")


if __name__ == "__main__":
    import django

    django.setup()
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
