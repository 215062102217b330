"""Benchmark: e-invoice writing and offline validation of one document.

Prints, for the ``standard_rate`` sample (and for comparison ``xrechnung_cii``,
``xrechnung_ubl`` and the 60-line ``multi_page``): milliseconds per document for
``build_cii``/``build_ubl`` and for ``validate`` after warm-up (XSD + CEN EN 16931 schematron,
plus KoSIT XRechnung for XRechnung documents), as the median of N runs, and the one-time cost
of compiling the rule sets. STANDARDS.md §1.5 measured 2–20 ms per invoice.

Run: ``.venv/bin/python bench/einvoice.py [N]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from faktura.documents.einvoice import build_cii, build_ubl, validate
from faktura.documents.einvoice.validation import warm_up
from faktura.documents.samples import sample_snapshots


def _median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main(runs: int = 200) -> None:
    start = time.perf_counter()
    warm_up()
    print(f"warm-up (load XSDs, compile 4 rule sets): {time.perf_counter() - start:.2f} s")
    samples = sample_snapshots()
    cases = [
        ("standard_rate", "cii"),
        ("xrechnung_cii", "cii"),
        ("xrechnung_ubl", "ubl"),
        ("multi_page", "cii"),
    ]
    print(f"{'sample':<16}{'syntax':<8}{'build ms':>10}{'validate ms':>13}  (median of {runs})")
    for name, syntax in cases:
        snapshot = samples[name]
        build = build_ubl if syntax == "ubl" else build_cii
        xml = build(snapshot)
        for _ in range(20):  # let the JIT of the stylesheets settle
            report = validate(xml)
        assert report.ok, report.summary()
        build_ms = _median_ms(lambda: build(snapshot), runs)  # noqa: B023
        validate_ms = _median_ms(lambda: validate(xml), runs)  # noqa: B023
        print(f"{name:<16}{syntax:<8}{build_ms:>10.2f}{validate_ms:>13.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
