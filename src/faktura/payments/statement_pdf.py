"""The customer's account statement as a letter: a Typst PDF/A on the letterhead.

Same family as the invoice and the dunning letter (``documents/pdf/templates``). Every
figure comes from ``account_statement`` (SQL sums, exact Decimals); this module only
words and formats them in the customer's language. The statement is rendered when asked
for and not archived: it is a view of the account on a day, and the documents it lists
are archived themselves. When it is mailed, the outbox keeps the PDF that was sent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from faktura.core import clock
from faktura.core.models import BankAccount, Company
from faktura.core.money import ZERO
from faktura.customers.models import Customer
from faktura.documents.models import safe_filename
from faktura.documents.pdf import texts
from faktura.documents.pdf.letterhead import DEFAULT_LETTERHEAD, Letterhead
from faktura.documents.pdf.render import (
    _compile,
    _letterhead,
    _pdf_backgrounds,
    _underlay,
    company_footer,
)
from faktura.invoicing.parties import buyer_data
from faktura.notifications.customer_mail import party
from faktura.payments.account_statement import AccountStatement, Entry, account_statement

TEMPLATE = Path(__file__).resolve().parent.parent / "documents/pdf/templates/account_statement.typ"

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "title": "Kontoauszug",
        "suffix": "Kundenkonto {number}",
        "date": "Datum",
        "customer_number": "Kundennummer",
        "period": "Zeitraum",
        "until": "bis {date}",
        "since": "ab {date}",
        "all": "gesamte Laufzeit",
        "intro": "nachfolgend erhalten Sie die Übersicht Ihres Kundenkontos bei uns: alle "
        "Rechnungen, Gutschriften, Zahlungen, Gebühren und Guthaben mit dem jeweiligen Saldo.",
        "head_date": "Datum",
        "head_text": "Vorgang",
        "head_reference": "Referenz",
        "head_debit": "Soll",
        "head_credit": "Haben",
        "head_balance": "Saldo",
        "opening": "Anfangssaldo",
        "closing_row": "Schlusssaldo",
        "debit_total": "Summe Soll",
        "credit_total": "Summe Haben",
        "balance": "Saldo",
        "owes": "Bitte überweisen Sie den offenen Betrag von {amount} auf unser Konto, "
        "falls noch nicht geschehen.",
        "credit": "Sie haben bei uns ein Guthaben von {amount}. Wir verrechnen es mit Ihrer "
        "nächsten Rechnung oder erstatten es Ihnen auf Wunsch.",
        "even": "Ihr Konto ist ausgeglichen. Vielen Dank!",
        "questions": "Stimmt etwas nicht mit Ihren Unterlagen überein? Bitte wenden Sie sich "
        "an {contact}.",
        "account_holder": "Kontoinhaber",
        "bank": "Bank",
        "reference": "Verwendungszweck",
        "payment": "Zahlung",
        "returned_debit": "Rücklastschrift",
        "chargeback": "Rückbuchung (Chargeback)",
        "fee": "Gebühr",
        "dunning_fee": "Mahngebühr",
        "flat_40": "Verzugspauschale (§ 288 Abs. 5 BGB)",
        "interest": "Verzugszinsen",
        "waived": "{cost} erlassen",
        "write_off": "Ausbuchung",
        "write_off_reversal": "Ausbuchung aufgehoben",
        "refund": "Erstattung von Guthaben",
        "of": "zu {number}",
        "page": "Seite",
        "page_of": "von",
    },
    "en": {
        "title": "Account statement",
        "suffix": "customer account {number}",
        "date": "Date",
        "customer_number": "Customer number",
        "period": "Period",
        "until": "until {date}",
        "since": "from {date}",
        "all": "all time",
        "intro": "please find below the statement of your customer account with us: every "
        "invoice, credit note, payment, fee and credit with the running balance.",
        "head_date": "Date",
        "head_text": "Entry",
        "head_reference": "Reference",
        "head_debit": "Debit",
        "head_credit": "Credit",
        "head_balance": "Balance",
        "opening": "Opening balance",
        "closing_row": "Closing balance",
        "debit_total": "Total debit",
        "credit_total": "Total credit",
        "balance": "Balance",
        "owes": "Please transfer the open amount of {amount} to our account unless you "
        "have done so already.",
        "credit": "You have a credit of {amount} with us. We will set it off against your "
        "next invoice or refund it at your request.",
        "even": "Your account is settled. Thank you!",
        "questions": "If anything differs from your records, please contact {contact}.",
        "account_holder": "Account holder",
        "bank": "Bank",
        "reference": "Reference",
        "payment": "Payment",
        "returned_debit": "Returned direct debit",
        "chargeback": "Chargeback",
        "fee": "Fee",
        "dunning_fee": "Dunning fee",
        "flat_40": "Late-payment flat fee (§ 288 (5) BGB)",
        "interest": "Default interest",
        "waived": "{cost} waived",
        "write_off": "Write-off",
        "write_off_reversal": "Write-off reversed",
        "refund": "Refund of credit",
        "of": "for {number}",
        "page": "Page",
        "page_of": "of",
    },
}

# The statement's English cost names (account_statement._COST_NAMES) → TEXT keys.
_COSTS = {
    "Dunning fee": "dunning_fee",
    "Flat fee (§ 288 (5) BGB)": "flat_40",
    "Default interest": "interest",
}


def language_of(customer: Customer, lang: str | None = None) -> str:
    chosen = lang or customer.language
    return "en" if chosen == "en" else "de"


def entry_text(entry: Entry, lang: str) -> str:
    """What the entry is, in the letter's language."""
    t, words = TEXT[lang], texts.TEXT[lang]
    if entry.type in ("invoice", "credit_note", "cancellation"):
        label = f"{words[entry.type]} {entry.reference}"
        _before, found, original = entry.description.partition(" for ")
        return f"{label} {t['of'].format(number=original)}" if found else label
    if entry.type in ("dunning_cost", "dunning_cost_waived"):
        for english, key in _COSTS.items():
            if entry.description.startswith(english):
                rest = entry.description.removeprefix(english).removesuffix(" waived")
                cost = f"{t[key]}{rest}"
                return t["waived"].format(cost=cost) if entry.type.endswith("waived") else cost
        return entry.description
    if entry.type == "fee":
        return f"{t['fee']}: {entry.description}" if entry.description else t["fee"]
    if entry.type in ("write_off", "write_off_reversal"):
        reason = entry.description.partition(": ")[2]
        return f"{t[entry.type]}: {reason}" if reason else t[entry.type]
    return t[entry.type]


def _period(statement: AccountStatement, lang: str) -> str:
    t = TEXT[lang]
    start, end = statement.date_from, statement.date_to
    if start and end:
        return texts.period(start, end, lang)
    if end:
        return t["until"].format(date=texts.date(end, lang))
    if start:
        return t["since"].format(date=texts.date(start, lang))
    return t["all"]


def statement_context(
    statement: AccountStatement, letterhead: Letterhead, *, lang: str, on: dt.date
) -> dict[str, Any]:
    """Every word and figure of the statement letter, formatted for ``lang``."""
    t = TEXT[lang]
    company = Company.get()
    bank = BankAccount.objects.filter(is_default=True).order_by("pk").first()
    customer = statement.customer

    def money(value: Decimal) -> str:
        return texts.money(value, "EUR", lang)

    def date(value: dt.date) -> str:
        return texts.date(value, lang)

    recipient = [customer.name]
    if customer.kind != "consumer" and customer.contact_name:
        recipient.append(customer.contact_name)
    recipient.append(f"{customer.street} {customer.house_number}".strip())
    recipient.append(f"{customer.postcode} {customer.city}".strip())
    if customer.country and customer.country != "DE":
        recipient.append(texts.country(customer.country, lang).upper())
    rows: list[list[str]] = []
    if statement.date_from is not None:
        rows.append(
            [
                date(statement.date_from),
                t["opening"],
                "",
                "",
                "",
                money(statement.opening_balance),
                "strong",
            ]
        )
    for entry in statement.entries:
        rows.append(
            [
                date(entry.date),
                entry_text(entry, lang),
                entry.reference[:40]
                if entry.type not in ("invoice", "credit_note", "cancellation")
                else "",
                money(entry.amount) if entry.amount > 0 else "",
                money(-entry.amount) if entry.amount < 0 else "",
                money(entry.balance),
                "",
            ]
        )
    last = statement.entries[-1].date if statement.entries else on
    closing_day = statement.date_to or max(on, last)
    rows.append(
        [
            date(closing_day),
            t["closing_row"],
            "",
            "",
            "",
            money(statement.closing_balance),
            "strong",
        ]
    )
    closing = statement.closing_balance
    if closing > ZERO:
        outcome = t["owes"].format(amount=money(closing))
    elif closing < ZERO:
        outcome = t["credit"].format(amount=money(-closing))
    else:
        outcome = t["even"]
    bank_rows: list[list[str]] = []
    if bank is not None and closing > ZERO:
        bank_rows = [
            [t["account_holder"], bank.account_holder or company.legal_name],
            ["IBAN", texts.format_iban(bank.iban)],
            ["BIC", bank.bic],
            [t["bank"], bank.bank_name],
            [t["reference"], customer.number],
        ]
        bank_rows = [row for row in bank_rows if row[1]]
    contact = " · ".join(part for part in (company.email, company.phone) if part)
    seller_city = f"{company.postcode} {company.city}".strip()
    return {
        "lang": lang,
        "meta": {
            "title": f"{t['title']} {customer.number}",
            "author": company.legal_name,
            "keywords": [customer.number, company.legal_name, customer.name],
        },
        "letterhead": _letterhead(letterhead, company.legal_name),
        "return_line": " · ".join(
            p
            for p in (
                company.legal_name,
                f"{company.street} {company.house_number}".strip(),
                seller_city,
            )
            if p
        ),
        "recipient": [line for line in recipient if line],
        "info": [
            [t["date"], date(on)],
            [t["customer_number"], customer.number],
            [t["period"], _period(statement, lang)],
        ],
        "title": t["title"],
        "title_suffix": t["suffix"].format(number=customer.number),
        "salutation": texts.party_salutation(party(buyer_data(customer)), lang),
        "intro": [t["intro"]],
        "head": [
            t["head_date"],
            t["head_text"],
            t["head_reference"],
            t["head_debit"],
            t["head_credit"],
            t["head_balance"],
        ],
        "rows": rows,
        "totals": [
            [t["debit_total"], money(statement.debit_total), ""],
            [t["credit_total"], money(statement.credit_total), ""],
            [t["balance"], money(closing), "grand"],
        ],
        "outcome": outcome,
        "bank": bank_rows,
        "questions": t["questions"].format(contact=contact or company.legal_name),
        "closing": texts.TEXT[lang]["closing"],
        "signature": company.legal_name,
        "page": t["page"],
        "page_of": t["page_of"],
        "footer": company_footer(company, bank, lang) if letterhead.footer else [],
    }


def filename(customer: Customer, on: dt.date, lang: str) -> str:
    word = "Kontoauszug" if lang == "de" else "Account-statement"
    return safe_filename(f"{word}-{customer.number}-{on:%Y-%m-%d}", "pdf")


def render_account_statement(
    customer_id: int,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    lang: str | None = None,
    letterhead: Letterhead | None = None,
) -> tuple[AccountStatement, str, bytes]:
    """The statement, its file name and its tagged PDF/A-3a + PDF/UA-1 (German or English).

    Raises NotFound (unknown customer), InvalidInput invalid_period.
    """
    from faktura.documents.pipeline import current_letterhead

    statement = account_statement(customer_id, date_from=date_from, date_to=date_to)
    language = language_of(statement.customer, lang)
    on = clock.today()
    letterhead = letterhead or current_letterhead() or DEFAULT_LETTERHEAD
    context = statement_context(statement, letterhead, lang=language, on=on)
    timestamp = dt.datetime.combine(on, dt.time(0, 0), tzinfo=dt.UTC)
    data = json.dumps(context, ensure_ascii=False, separators=(",", ":"))
    pdf = _compile({"data": data}, timestamp=timestamp, template=TEMPLATE)
    underlays = _pdf_backgrounds(letterhead)
    if underlays != (None, None):
        import pikepdf

        from faktura.documents.pdf.xmp import save as save_pdf

        with pikepdf.open(io.BytesIO(pdf)) as document:
            _underlay(document, *underlays)
            pdf = save_pdf(document)
    return statement, filename(statement.customer, on, language), pdf
