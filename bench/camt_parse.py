"""Benchmark: Faktura's camt parser against a minimal raw lxml extraction.

Generates a synthetic camt.053.001.08 with 50,000 entries (about 33 MB) in a temporary
file, then prints the seconds for

* raw lxml: iterparse over the entries, extracting amount, end-to-end id and remittance
  text and nothing else (the floor any parser built on lxml can reach), and
* Faktura: ``parse_statement`` (format detection, hardened parser, all fields, batch
  splitting, currency and decimal checks, checksums),

and their ratio. Target: Faktura ≤ about 2× raw lxml, so that parsing plus matching
against 200,000 open invoices fits a 5 s budget.

Each measurement is repeated and the best run's CPU seconds are reported (the usual way
to time on a shared machine: slower runs and wall-clock time measure the neighbours).

Run: ``.venv/bin/python bench/camt_parse.py [entries] [repeats]``
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from lxml import etree

from faktura.banking.statements.detect import parse_statement
from faktura.banking.statements.model import Statement

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

HEADER = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}">
<BkToCstmrStmt>
<GrpHdr><MsgId>BENCH-0001</MsgId><CreDtTm>2026-12-03T06:00:00+01:00</CreDtTm></GrpHdr>
<Stmt>
<Id>BENCH-0001-1</Id>
<CreDtTm>2026-12-03T06:00:00+01:00</CreDtTm>
<Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{{closing}}</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-03</Dt></Dt></Bal>
"""

# One credit transfer per entry, shaped like a German bank's camt.053.001.08.
ENTRY = "".join(
    (
        '<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>',
        "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-03</Dt></BookgDt>",
        "<ValDt><Dt>2026-12-03</Dt></ValDt><AcctSvcrRef>BANKREF{n:08d}</AcctSvcrRef>",
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>",
        "</Domn><Prtry><Cd>NTRF+166+9310+997</Cd><Issr>DK</Issr></Prtry></BkTxCd>",
        "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{n:08d}</EndToEndId></Refs>",
        "<RltdPties><Dbtr><Pty><Nm>Kunde {n} GmbH</Nm></Pty></Dbtr>",
        "<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>",
        "<RltdAgts><DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>",
        "</RltdAgts><RmtInf><Ustrd>Rechnung RE-2026-{n:05d}</Ustrd></RmtInf></TxDtls>",
        "</NtryDtls></Ntry>\n",
    )
)

FOOTER = "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"


def write_statement(path: Path, *, entries: int) -> Decimal:
    """Write the synthetic statement and return the sum of its entries."""
    rng = random.Random(42)
    amounts = [Decimal(rng.randint(100, 500_000)) / 100 for _ in range(entries)]
    total = sum(amounts, Decimal("0.00"))
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER.replace("{closing}", f"{total:.2f}"))
        for n, amount in enumerate(amounts, start=1):
            out.write(ENTRY.format(n=n, amount=f"{amount:.2f}"))
        out.write(FOOTER)
    return total


def raw_lxml(data: bytes) -> int:
    """Extract amount, end-to-end id and remittance of every entry; nothing else."""
    q = "{" + NS + "}"
    count = 0
    for _event, entry in etree.iterparse(
        io.BytesIO(data), tag=q + "Ntry", resolve_entities=False, no_network=True
    ):
        amount = Decimal(entry.findtext(q + "Amt"))
        details = entry.find(f"{q}NtryDtls/{q}TxDtls")
        end_to_end = details.findtext(f"{q}Refs/{q}EndToEndId")
        remittance = details.findtext(f"{q}RmtInf/{q}Ustrd")
        if amount and end_to_end and remittance:
            count += 1
        entry.clear()
    return count


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    """Return the CPU seconds of the fastest of ``repeats`` runs and the last result."""
    best = float("inf")
    result: object = None
    for _ in range(repeats):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.camt053.xml"
        total = write_statement(path, entries=entries)
        data = path.read_bytes()
        print(f"file: {entries} entries, {len(data) / 1e6:.1f} MB, best of {repeats} runs")

        raw_seconds, count = best_of(repeats, lambda: raw_lxml(data))
        assert count == entries, count

        full_seconds, statement = best_of(
            repeats, lambda: parse_statement(data, filename=os.fspath(path))
        )
        assert isinstance(statement, Statement)
        assert len(statement.transactions) == entries
        assert sum(t.amount for t in statement.transactions) == total

    print(f"raw lxml extraction:         {raw_seconds:.2f} s CPU")
    print(f"Faktura parse_statement:     {full_seconds:.2f} s CPU")
    print(f"ratio (target ≤ 2.0):        {full_seconds / raw_seconds:.2f}")


if __name__ == "__main__":
    main()
