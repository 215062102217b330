"""Benchmark: generating a pain.008.001.08 with 10,000 direct debits (target ≤ 2 s).

Prints the seconds for Faktura's ``generate_pain008`` with its default XSD check
(libxml2 via lxml, against the XSD shipped in sepaxml), the same with sepaxml's own
``export(validate=True)`` (xmlschema, pure Python), and the share of each step, so the
slow part is visible. Best of a few runs, CPU seconds (the machine may be shared).

Run: ``.venv/bin/python bench/pain008_generate.py [debits] [repeats]``
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from lxml import etree

from faktura.banking.sepa import pain008
from faktura.banking.sepa.pain008 import (
    Creditor,
    DirectDebit,
    PostalAddress,
    control_sum_and_count,
    generate_pain008,
)

TARGET_SECONDS = 2.0

CREDITOR = Creditor(
    name="Muster Software GmbH",
    iban="DE02120300000000202051",
    bic="BYLADEM1001",
    creditor_id="DE98ZZZ09999999999",
    address=PostalAddress(
        street_name="Hauptstraße",
        building_number="1",
        postcode="10115",
        town="Berlin",
        country="DE",
    ),
)


def debits(count: int) -> list[DirectDebit]:
    return [
        DirectDebit(
            end_to_end_id=f"RE-2026-{n:05d}",
            amount=Decimal(1000 + n) / 100,
            debtor_name=f"Kundin Nr. {n} Müller",
            debtor_iban="DE89370400440532013000",
            debtor_address=PostalAddress(
                street_name="Marktplatz",
                building_number=str(n % 200 + 1),
                postcode="80331",
                town="München",
                country="DE",
            ),
            mandate_reference=f"MANDAT-{n:06d}",
            mandate_signature_date=date(2026, 1, 15),
            sequence_type="RCUR" if n % 10 else "FRST",
            collection_date=date(2026, 12, 1),
            remittance_information=f"RE-2026-{n:05d} Mitgliedsbeitrag Dezember 2026",
        )
        for n in range(1, count + 1)
    ]


def best_cpu(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    best = float("inf")
    result: object = None
    for _ in range(repeats):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    items = debits(count)

    lxml_seconds, xml = best_cpu(
        repeats, lambda: generate_pain008(creditor=CREDITOR, debits=items, message_id="BENCH-1")
    )
    assert isinstance(xml, bytes)
    total, number = control_sum_and_count(xml)
    assert number == count
    assert total == sum((d.amount for d in items), Decimal("0.00"))

    schema = pain008._schema(pain008.PAIN008_SCHEMA)
    validate_seconds, _ = best_cpu(repeats, lambda: schema.validate(etree.fromstring(xml)))
    xmlschema_seconds, _ = best_cpu(
        1,
        lambda: generate_pain008(creditor=CREDITOR, debits=items, xsd_validator="xmlschema"),
    )

    print(f"pain.008.001.08 with {count} debits, {len(xml) / 1e6:.1f} MB, CPU seconds")
    print(f"generate_pain008 (XSD check with lxml):      {lxml_seconds:.2f} s")
    print(f"  of which the lxml XSD check:               {validate_seconds:.2f} s")
    print(f"generate_pain008 (sepaxml validate=True):    {xmlschema_seconds:.2f} s")
    print(
        f"ratio to the {TARGET_SECONDS:.0f} s target (lxml check):        "
        f"{lxml_seconds / TARGET_SECONDS:.2f}"
    )
    print(
        f"ratio to the {TARGET_SECONDS:.0f} s target (sepaxml check):     "
        f"{xmlschema_seconds / TARGET_SECONDS:.2f}"
    )


if __name__ == "__main__":
    main()
