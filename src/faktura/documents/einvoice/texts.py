"""Human-readable payment texts of the e-invoice (BT-20 payment terms, BT-82 means text).

The customer's language decides (German or English); the machine-readable Skonto line of
BR-DE-18 is language-neutral and always appended when an early-payment discount applies.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.documents.einvoice.formatting import amount, percent
from faktura.documents.snapshot import DocumentSnapshot

_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "due": "Zahlbar ohne Abzug bis zum {due}.",
        "term": "Zahlbar innerhalb von {days} Tagen ohne Abzug.",
        "skonto": "Bei Zahlung innerhalb von {days} Tagen {percent} % Skonto.",
        "debit": (
            "Der Betrag von {amount} {currency} wird am {date} per SEPA-Lastschrift "
            "(Mandatsreferenz {mandate}, Gläubiger-ID {creditor}) eingezogen."
        ),
        "provider": "Zahlung über den gewählten Online-Zahlungsdienst.",
        "credit": "Der Betrag wird erstattet oder mit offenen Rechnungen verrechnet.",
        "transfer_means": "SEPA-Überweisung",
        "debit_means": "SEPA-Lastschrift",
        "provider_means": "Online-Zahlung",
        "credit_means": "Erstattung",
    },
    "en": {
        "due": "Payable without deduction by {due}.",
        "term": "Payable within {days} days without deduction.",
        "skonto": "{percent} % early payment discount if paid within {days} days.",
        "debit": (
            "The amount of {amount} {currency} will be collected by SEPA direct debit on "
            "{date} (mandate reference {mandate}, creditor ID {creditor})."
        ),
        "provider": "Payment through the chosen online payment service.",
        "credit": "The amount will be refunded or set off against open invoices.",
        "transfer_means": "SEPA credit transfer",
        "debit_means": "SEPA direct debit",
        "provider_means": "Online payment",
        "credit_means": "Refund",
    },
}


def _texts(snapshot: DocumentSnapshot) -> dict[str, str]:
    return _TEXTS.get(snapshot.language, _TEXTS["de"])


def _date(snapshot: DocumentSnapshot, value: dt.date) -> str:
    return f"{value:%d.%m.%Y}" if snapshot.language == "de" else value.isoformat()


def _decimal_de(snapshot: DocumentSnapshot, value: str) -> str:
    return value.replace(".", ",") if snapshot.language == "de" else value


def skonto_line(snapshot: DocumentSnapshot) -> str:
    """Return the XRechnung Skonto line ``#SKONTO#TAGE=n#PROZENT=n.nn#`` or ""."""
    pct = snapshot.early_payment_discount_percent
    days = snapshot.early_payment_discount_days
    if snapshot.is_credit or not pct or not days:
        return ""
    # BR-DE-18: upper case, two decimals, no whitespace, closed by a line break.
    return f"#SKONTO#TAGE={days}#PROZENT={percent(Decimal(pct))}#\n"


def payment_terms(snapshot: DocumentSnapshot) -> str:
    """BT-20 payment terms: the human text, then the Skonto line of BR-DE-18 if any."""
    texts = _texts(snapshot)
    if snapshot.is_credit:
        lines = [texts["credit"]]
    elif snapshot.payment_means == "direct_debit" and snapshot.direct_debit is not None:
        debit = snapshot.direct_debit
        lines = [
            texts["debit"].format(
                amount=_decimal_de(snapshot, amount(snapshot.payable_amount)),
                currency=snapshot.currency,
                date=_date(snapshot, debit.debit_date),
                mandate=debit.mandate_reference,
                creditor=debit.creditor_id,
            )
        ]
    elif snapshot.payment_means == "provider":
        lines = [texts["provider"]]
    elif snapshot.due_date is not None:
        lines = [texts["due"].format(due=_date(snapshot, snapshot.due_date))]
    else:
        lines = [texts["term"].format(days=snapshot.payment_term_days)]
    skonto = skonto_line(snapshot)
    if skonto:
        plain = f"{Decimal(snapshot.early_payment_discount_percent or 0).normalize():f}"
        pct = _decimal_de(snapshot, plain)  # "2 %" / "2,5 %" for people, "2.00" for machines
        lines.append(texts["skonto"].format(days=snapshot.early_payment_discount_days, percent=pct))
        return "\n".join(lines) + "\n" + skonto
    return "\n".join(lines)


def payment_means_text(snapshot: DocumentSnapshot) -> str:
    """BT-82 payment means text."""
    texts = _texts(snapshot)
    if snapshot.is_credit:
        return texts["credit_means"]
    key = {"transfer": "transfer_means", "direct_debit": "debit_means"}.get(
        snapshot.payment_means, "provider_means"
    )
    return texts[key]


def payment_means_code(snapshot: DocumentSnapshot) -> str:
    """BT-81 (UNTDID 4461): 58 SEPA transfer, 59 SEPA direct debit, 68 online payment service.

    Credit notes and cancellations are paid out by the seller: the seller's account is not
    where money goes, so they carry 1 ("instrument not defined") and no account (BR-61).
    """
    if snapshot.is_credit:
        return "1"
    if snapshot.payment_means == "direct_debit" and snapshot.direct_debit is not None:
        return "59"
    if snapshot.payment_means == "transfer" and snapshot.bank is not None:
        return "58"
    if snapshot.payment_means == "provider":
        return "68"
    return "1"
