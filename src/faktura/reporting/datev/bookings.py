"""The bookings of a period, as DATEV rows see them: amount, side, account, contra account.

Documents and fees are booked on the customer's personal account (Debitor) against the
revenue or income account; money in goes to the bank against the Debitor, with the
invoice number in Belegfeld 1 so that DATEV's open-item matching finds the invoice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from faktura.dunning.collection_handover import vat_shares
from faktura.reporting.datev import selectors
from faktura.reporting.datev.accounts import AccountMap
from faktura.reporting.models import AccountPurpose as P

CENT = Decimal("0.01")
DEBIT, CREDIT = "S", "H"  # Soll / Haben, relative to the column "Konto"

# The order of the kinds within a day; counted and summed in this order as well.
KINDS = (
    "invoice",
    "credit_note",
    "cancellation",
    "payment",
    "return",
    "fee",
    "write_off",
)


@dataclass(frozen=True)
class Booking:
    kind: str
    date: dt.date
    amount: Decimal
    side: str
    account: int
    contra: int
    document: str  # Belegfeld 1
    text: str  # Buchungstext
    customer_id: int | None
    customer_number: str
    tax_key: str = ""
    eu_vat_id: str = ""  # EU-Land u. UStID (Bestimmung): intra-community and § 13b rows
    invoice_id: int | None = None


def _text(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def period_bookings(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    """All bookings of the period, ordered by date, kind and document number."""
    bookings = _documents(period, accounts)
    if accounts.config.export_payments:
        bookings += _payments(period, accounts)
        bookings += _returns(period, accounts)
    bookings += _fees(period, accounts)
    bookings += _write_offs(period, accounts)
    order = {kind: index for index, kind in enumerate(KINDS)}
    return sorted(bookings, key=lambda b: (b.date, order[b.kind], b.document, b.text))


def _documents(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    labels = {
        "invoice": _("Rechnung"),
        "credit_note": _("Gutschrift"),
        "cancellation": _("Storno"),
    }
    result = []
    for row in selectors.document_taxes(period):
        if not row["gross"]:
            continue  # DATEV refuses 0,00; a zero line of the breakdown books nothing
        revenue = accounts.revenue(row["category"], row["rate"], document=row["number"])
        buyer = row["buyer"] or {}
        reference = _("zu %(number)s") % {"number": row["original_number"]}
        result.append(
            Booking(
                kind=row["kind"],
                date=row["issue_date"],
                amount=row["gross"].quantize(CENT),
                # An invoice charges the customer; a credit note or cancellation credits.
                side=DEBIT if row["kind"] == "invoice" else CREDIT,
                account=accounts.debtor(row["customer_number"], row["customer_id"]),
                contra=revenue.number,
                tax_key=revenue.tax_key,
                document=row["number"],
                text=_text(
                    labels[row["kind"]],
                    reference if row["original_number"] else "",
                    buyer.get("name", ""),
                ),
                customer_id=row["customer_id"],
                customer_number=row["customer_number"],
                eu_vat_id=buyer.get("vat_id", "") if row["category"] in ("K", "AE") else "",
                invoice_id=row["invoice_id"],
            )
        )
    return result


def _debtor_or_unassigned(row: dict[str, Any], accounts: AccountMap) -> int:
    if row["customer_id"] is None:
        return accounts[P.UNASSIGNED].number
    return accounts.debtor(row["customer_number"], row["customer_id"])


def _payments(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    settled: dict[int, list[dict[str, Any]]] = {}
    for row in selectors.payment_allocations(period):
        settled.setdefault(row["payment_id"], []).append(row)
    bank = accounts[P.BANK].number
    result = []
    for payment in selectors.payments(period):
        name = payment["customer_name"] or payment["payer_name"]
        parts = [(row["number"], row["total"]) for row in settled.get(payment["id"], [])]
        parts = [(number, total.quantize(CENT)) for number, total in parts]
        rest = payment["amount"] - sum((total for _number, total in parts), Decimal(0))
        if rest > 0:
            parts.append(("", rest))  # customer credit, or money nobody was found for
        for number, amount in parts:
            result.append(
                Booking(
                    kind="payment",
                    date=payment["date"],
                    amount=amount,
                    side=DEBIT,
                    account=bank,
                    contra=_debtor_or_unassigned(payment, accounts),
                    document=number,
                    text=_text(_("Zahlung") if number else _("Zahlung ohne Rechnung"), name),
                    customer_id=payment["customer_id"],
                    customer_number=payment["customer_number"] or "",
                )
            )
    return result


def _returns(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    labels = {"returned_debit": _("Rücklastschrift"), "chargeback": _("Rückbelastung")}
    bank = accounts[P.BANK].number
    return [
        Booking(
            kind="return",
            date=row["booking_date"] or period.day(row["created_at"]),
            amount=row["amount"],
            side=CREDIT,  # the money leaves the bank account again
            account=bank,
            contra=accounts.debtor(row["customer_number"], row["customer_id"]),
            document=row["number"] or "",
            text=_text(labels.get(row["kind"], row["kind"]), row["customer_name"]),
            customer_id=row["customer_id"],
            customer_number=row["customer_number"],
        )
        for row in selectors.returns(period)
    ]


def _fees(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    result = [
        Booking(
            kind="fee",
            date=period.day(row["created_at"]),
            amount=row["amount"],
            side=DEBIT,
            account=accounts.debtor(row["customer_number"], row["customer_id"]),
            contra=accounts[P.FEES].number,
            document=row["number"] or "",
            text=_text(row["reason"], row["customer_name"]),
            customer_id=row["customer_id"],
            customer_number=row["customer_number"],
        )
        for row in selectors.fee_items(period)
    ]
    labels = {
        "fee": _("Mahngebühr"),
        "flat_40": _("Verzugspauschale"),
        "interest": _("Verzugszinsen"),
    }
    for waived in (False, True):
        for row in selectors.dunning_fees(period, waived=waived):
            purpose = P.INTEREST if row["kind"] == "interest" else P.FEES
            result.append(
                Booking(
                    kind="fee",
                    date=period.day(row["moment"]),
                    amount=row["amount"],
                    # A waived fee is taken back from the customer's account.
                    side=CREDIT if waived else DEBIT,
                    account=accounts.debtor(row["customer_number"], row["customer_id"]),
                    contra=accounts[purpose].number,
                    document=row["number"] or "",
                    text=_text(
                        _("Erlass") if waived else "",
                        labels.get(row["kind"], row["kind"]),
                        row["customer_name"],
                    ),
                    customer_id=row["customer_id"],
                    customer_number=row["customer_number"],
                )
            )
    return result


def _write_offs(period: selectors.Period, accounts: AccountMap) -> list[Booking]:
    rows = [(False, row) for row in selectors.write_offs(period, reversed_=False)]
    rows += [(True, row) for row in selectors.write_offs(period, reversed_=True)]
    breakdowns = selectors.tax_breakdowns({row["invoice_id"] for _r, row in rows})
    result = []
    for reversed_, row in rows:
        # § 17 (2) UStG: the VAT of each rate is corrected by its own account, so the
        # written-off amount is split over the invoice's rates as the collection does.
        shares = [
            (category, rate, gross)
            for category, rate, gross, _vat in vat_shares(
                breakdowns.get(row["invoice_id"], []), row["amount"]
            )
            if gross
        ] or [("", Decimal(0), row["amount"])]
        for category, rate, gross in shares:
            account = accounts.write_off(category, rate)
            result.append(
                Booking(
                    kind="write_off",
                    date=period.day(row["moment"]),
                    amount=gross,
                    # The write-off credits the customer; its reversal charges them again.
                    side=DEBIT if reversed_ else CREDIT,
                    account=accounts.debtor(row["customer_number"], row["customer_id"]),
                    contra=account.number,
                    tax_key=account.tax_key,
                    document=row["number"],
                    text=_text(
                        _("Ausbuchung zurückgenommen") if reversed_ else _("Ausbuchung"),
                        row["reason"],
                    ),
                    customer_id=row["customer_id"],
                    customer_number=row["customer_number"],
                )
            )
    return result
