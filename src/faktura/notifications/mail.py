"""Compose the e-mail for a finalized document from its frozen snapshot (no database).

The words live in the templates (``templates/notifications/mail/<lang>/<event>.*``); this
module only formats the figures the same way the PDF does (``documents.pdf.texts``), so
the mail, the PDF and the XML always state the same amount, date and account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from faktura.documents.pdf import texts
from faktura.documents.snapshot import DocumentSnapshot, PartySnapshot

EVENTS = {
    "invoice": "invoice_issued",
    "credit_note": "credit_note_issued",
    "cancellation": "cancellation_issued",
}
DEFAULT_ACCENT = "#1f4e79"
_FOOTER_WORDS = {
    "de": {
        "managing_directors": "Geschäftsführung",
        "vat_id": "USt-IdNr.",
        "tax_number": "Steuernr.",
    },
    "en": {
        "managing_directors": "Managing directors",
        "vat_id": "VAT ID",
        "tax_number": "Tax no.",
    },
}


@dataclass(frozen=True)
class ComposedMail:
    event: str
    language: str
    subject: str
    text: str
    html: str


def _plain(value: str) -> str:
    return value.replace(texts.NBSP, " ")


def _city(party: PartySnapshot, lang: str) -> str:
    city = f"{party.postcode} {party.city}".strip()
    if party.country and party.country != "DE":
        city = f"{city}, {texts.country(party.country, lang)}"
    return city


def footer_lines(snapshot: DocumentSnapshot, lang: str) -> list[str]:
    """The seller's legal data (§ 35a GmbHG, § 37a HGB: business letters, e-mail included)."""
    return seller_footer_lines(snapshot.seller, lang)


def seller_footer_lines(seller: PartySnapshot, lang: str) -> list[str]:
    """``footer_lines`` for a mail that delivers no document (notices to subscribers)."""
    words = _FOOTER_WORDS[lang]
    lines = [" · ".join(p for p in (seller.name, seller.street_line, _city(seller, lang)) if p)]
    legal = []
    if seller.register_court or seller.register_number:
        legal.append(" ".join(p for p in (seller.register_court, seller.register_number) if p))
    if seller.managing_directors:
        legal.append(f"{words['managing_directors']}: {seller.managing_directors}")
    if legal:
        lines.append(" · ".join(legal))
    tax = []
    if seller.vat_id:
        tax.append(f"{words['vat_id']} {seller.vat_id}")
    if seller.tax_number:
        tax.append(f"{words['tax_number']} {seller.tax_number}")
    contact = [p for p in (seller.phone, seller.email, seller.website) if p]
    if tax or contact:
        lines.append(" · ".join(tax + contact))
    return lines


def _payment(snapshot: DocumentSnapshot, lang: str) -> dict[str, Any]:
    s = snapshot
    if s.is_credit:
        return {"payment": "refund"}
    if s.payable_amount <= 0:
        return {"payment": "paid"}
    if s.payment_means == "direct_debit" and s.direct_debit is not None:
        dd = s.direct_debit
        return {
            "payment": "direct_debit",
            "debit_date": texts.date(dd.debit_date, lang),
            "mandate": dd.mandate_reference,
            "creditor_id": dd.creditor_id,
            "masked_iban": texts.mask_iban(dd.debtor_iban),
        }
    if s.payment_means == "provider":
        return {"payment": "provider"}
    bank = s.bank
    return {
        "payment": "transfer",
        "account_holder": (bank.account_holder if bank else "") or s.seller.name,
        "iban": texts.format_iban(bank.iban) if bank else "",
        "bic": bank.bic if bank else "",
        "bank_name": bank.bank_name if bank else "",
        "reference": s.number,
    }


def context(
    snapshot: DocumentSnapshot,
    *,
    attachments: list[str],
    accent: str = DEFAULT_ACCENT,
    portal_url: str = "",
) -> dict[str, Any]:
    """Everything the templates print, formatted for the customer's language.

    ``portal_url``: the link that signs in to the customer portal and opens the document
    (``customers.portal.document_link``); without it the mail names no portal.
    """
    lang = "en" if snapshot.language == "en" else "de"
    s = snapshot
    words = texts.TEXT[lang]
    return {
        "lang": lang,
        "accent": accent,
        "document_title": words[s.kind],
        "number": s.number,
        "issue_date": texts.date(s.issue_date, lang),
        "amount": _plain(
            texts.money(s.payable_amount if not s.is_credit else s.grand_total, s.currency, lang)
        ),
        "grand_total": _plain(texts.money(s.grand_total, s.currency, lang)),
        "due_date": texts.date(s.due_date, lang) if s.due_date else "",
        "preceding_number": s.preceding_invoice_number,
        "preceding_date": texts.date(s.preceding_invoice_date, lang)
        if s.preceding_invoice_date
        else "",
        "greeting": texts.salutation(s, lang),
        "closing": words["closing"],
        "seller": s.seller,
        "buyer": s.buyer,
        "xrechnung": s.einvoice_format != "cii",
        "attachments": attachments,
        "footer": footer_lines(s, lang),
        "portal_url": portal_url,
        "portal_days": settings.FAKTURA_PORTAL_INVOICE_LINK_DAYS,
        **_payment(s, lang),
    }


def compose(
    snapshot: DocumentSnapshot,
    *,
    attachments: list[str],
    accent: str = DEFAULT_ACCENT,
    portal_url: str = "",
) -> ComposedMail:
    """Render subject, text and HTML of the mail that delivers ``snapshot``."""
    ctx = context(snapshot, attachments=attachments, accent=accent, portal_url=portal_url)
    return render(EVENTS[snapshot.kind], ctx)


def render(event: str, ctx: dict[str, Any]) -> ComposedMail:
    """Render the templates of ``event`` in ``ctx["lang"]``: subject, text and HTML."""
    lang = ctx["lang"]
    base = f"notifications/mail/{lang}/{event}"
    with translation.override(lang):
        subject = render_to_string(f"{base}.subject.txt", ctx)
        text = render_to_string(f"{base}.txt", ctx)
        html = render_to_string(f"{base}.html", ctx)
    return ComposedMail(
        event=event,
        language=lang,
        subject=" ".join(subject.split()),  # one line: no header injection, no stray breaks
        text=_tidy(text),
        html="\n".join(line for line in html.splitlines() if line.strip()) + "\n",
    )


def _tidy(text: str) -> str:
    """Collapse the blank lines template tags leave; keep one empty line between paragraphs."""
    # "-- " (with its space) is the signature delimiter mail clients recognise (RFC 3676).
    lines = [line if line == "-- " else line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out) + "\n"
