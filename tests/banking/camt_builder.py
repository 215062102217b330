"""Build camt.053/camt.054 (.001.08) files for tests: entries as a German bank books them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

OWN_IBAN = "DE02120300000000202051"


@dataclass(frozen=True)
class Tx:
    """One transaction (TxDtls); ``amount`` is what the bank booked (for a return incl. fee)."""

    amount: str
    end_to_end_id: str = ""
    mandate: str = ""
    name: str = ""
    iban: str = ""
    remittance: str = ""
    return_code: str = ""
    fee: str | None = None
    original: str | None = None


@dataclass(frozen=True)
class Entry:
    """One booking (Ntry): a single transaction or a batch (several TxDtls)."""

    txs: tuple[Tx, ...]
    credit: bool = True
    booked: dt.date = dt.date(2026, 11, 17)
    reference: str = ""
    batch: str = ""
    family: tuple[str, str] = ("RCDT", "ESCT")
    status: str = "BOOK"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        return sum((Decimal(tx.amount) for tx in self.txs), Decimal("0.00"))


def transfer(amount: str, remittance: str = "", *, name: str = "", iban: str = "", **kw) -> Entry:
    """A SEPA credit transfer to us."""
    tx = Tx(amount=amount, remittance=remittance, name=name, iban=iban,
            end_to_end_id=kw.pop("end_to_end_id", ""))  # fmt: skip
    return Entry(txs=(tx,), **kw)


def debit_batch(txs: list[Tx], **kw) -> Entry:
    """The credit of our direct-debit file, one TxDtls per debit (EndToEndId = invoice)."""
    return Entry(txs=tuple(txs), family=("IDDT", "ESDD"), **kw)


def returned(tx: Tx, **kw) -> Entry:
    """A returned direct debit (Rücklastschrift): a debit on our account."""
    return Entry(txs=(tx,), credit=False, family=("IDDT", "UPDD"), **kw)


def _tx(tx: Tx, *, credit: bool, batch: bool) -> str:
    indicator = "CRDT" if credit else "DBIT"
    refs = f"<EndToEndId>{escape(tx.end_to_end_id or 'NOTPROVIDED')}</EndToEndId>"
    if tx.mandate:
        refs += f"<MndtId>{escape(tx.mandate)}</MndtId>"
    parts = [f"<Refs>{refs}</Refs>"]
    if batch or tx.return_code:
        parts.append(f'<Amt Ccy="EUR">{tx.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>')
    if tx.original is not None:
        parts.append(
            f'<AmtDtls><InstdAmt><Amt Ccy="EUR">{tx.original}</Amt></InstdAmt>'
            f'<TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt></AmtDtls>'
        )
    if tx.fee is not None:
        parts.append(
            f'<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">{tx.fee}</TtlChrgsAndTaxAmt>'
            f'<Rcrd><Amt Ccy="EUR">{tx.fee}</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>'
        )
    parties = ""
    if tx.name:
        parties += f"<Dbtr><Pty><Nm>{escape(tx.name)}</Nm></Pty></Dbtr>"
    if tx.iban:
        parties += f"<DbtrAcct><Id><IBAN>{tx.iban}</IBAN></Id></DbtrAcct>"
    if parties:
        parts.append(f"<RltdPties>{parties}</RltdPties>")
    if tx.remittance:
        parts.append(f"<RmtInf><Ustrd>{escape(tx.remittance)}</Ustrd></RmtInf>")
    if tx.return_code:
        parts.append(f"<RtrInf><Rsn><Cd>{tx.return_code}</Cd></Rsn></RtrInf>")
    return f"<TxDtls>{''.join(parts)}</TxDtls>"


def _entry(entry: Entry, number: int) -> str:
    indicator = "CRDT" if entry.credit else "DBIT"
    family, subfamily = entry.family
    reference = entry.reference or f"BANKREF{number:06d}"
    batch = len(entry.txs) > 1
    details = ""
    if batch or entry.batch:
        details += "<Btch>"
        if entry.batch:
            details += f"<PmtInfId>{escape(entry.batch)}</PmtInfId>"
        details += f"<NbOfTxs>{len(entry.txs)}</NbOfTxs></Btch>"
    details += "".join(_tx(tx, credit=entry.credit, batch=batch) for tx in entry.txs)
    day = entry.booked.isoformat()
    return (
        f'<Ntry><Amt Ccy="EUR">{entry.amount:.2f}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>{entry.status}</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
        f"<ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{reference}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{subfamily}</SubFmlyCd>"
        f"</Fmly></Domn></BkTxCd><NtryDtls>{details}</NtryDtls></Ntry>"
    )


def camt(
    entries: list[Entry],
    *,
    kind: str = "053",
    message_id: str = "TEST-0001",
    account: str = OWN_IBAN,
    created: dt.date = dt.date(2026, 11, 17),
    namespace: str | None = None,
    currency: str = "EUR",
) -> bytes:
    """A camt.053.001.08 statement (``kind="053"``) or camt.054.001.08 notification."""
    ns = namespace or f"urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.08"
    root, block = (
        ("BkToCstmrStmt", "Stmt") if kind == "053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    )
    stamp = f"{created.isoformat()}T22:00:00+01:00"
    body = "".join(_entry(entry, number) for number, entry in enumerate(entries, start=1))
    balances = ""
    if kind == "053":
        total = sum(((e.amount if e.credit else -e.amount) for e in entries), Decimal("0.00"))
        closing_indicator = "CRDT" if total >= 0 else "DBIT"
        balances = (
            f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">0.00</Amt>'
            f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{created.isoformat()}</Dt></Dt></Bal>"
            f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">'
            f"{abs(total):.2f}</Amt><CdtDbtInd>{closing_indicator}</CdtDbtInd>"
            f"<Dt><Dt>{created.isoformat()}</Dt></Dt></Bal>"
        )
    if currency != "EUR":
        body = body.replace('Ccy="EUR"', f'Ccy="{currency}"')
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><{root}>'
        f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>"
        f"<{block}><Id>{message_id}-1</Id><CreDtTm>{stamp}</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{balances}"
        f"{body}</{block}></{root}></Document>\n"
    ).encode()
