"""Compose the e-mail for a finalized document from its frozen snapshot, and every customer mail.

The words live in the templates (``templates/notifications/mail/<lang>/<event>.*``), or for
the subject and message in the company's own text (``mail_texts``, the one database read);
this module only formats the figures the same way the PDF does (``documents.pdf.texts``),
so the mail, the PDF and the XML always state the same amount, date and account.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import engines
from django.template.loader import render_to_string
from django.utils import translation

from faktura.documents.pdf import texts
from faktura.documents.snapshot import DocumentSnapshot, PartySnapshot
from faktura.notifications import mail_texts

logger = logging.getLogger(__name__)

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
        "customer_name": s.buyer.name,
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
    own_texts: Mapping[tuple[str, str], mail_texts.MailText] | None = None,
) -> ComposedMail:
    """Render subject, text and HTML of the mail that delivers ``snapshot``."""
    ctx = context(snapshot, attachments=attachments, accent=accent, portal_url=portal_url)
    return render(EVENTS[snapshot.kind], ctx, own_texts=own_texts)


def render(
    event: str,
    ctx: dict[str, Any],
    *,
    own_texts: Mapping[tuple[str, str], mail_texts.MailText] | None = None,
) -> ComposedMail:
    """Render the templates of ``event`` in ``ctx["lang"]``: subject, text and HTML.

    A customer mail takes its subject and message from the company's own text when it has
    one (``mail_texts``), read from ``own_texts`` when given (a run sending many mails
    reads them once: ``mail_texts.saved_all()``), else from the database; the fixed parts
    around the message stay. An own text that fails to render (it passed the check when
    saved, so this is not expected) is logged and the built-in text is sent instead.
    """
    lang = ctx["lang"]
    base = f"notifications/mail/{lang}/{event}"
    with translation.override(lang):
        subject: str
        text: str
        html: str
        if event not in mail_texts.KINDS:
            subject = render_to_string(f"{base}.subject.txt", ctx)
            text = render_to_string(f"{base}.txt", ctx)
            html = render_to_string(f"{base}.html", ctx)
        else:
            own = (
                mail_texts.saved(event, lang) if own_texts is None else own_texts.get((event, lang))
            )
            parts = _own_parts(event, own, ctx) if own is not None else None
            if parts is None:
                built_in = mail_texts.default(event, lang)
                subject = mail_texts.render_text(built_in.subject, ctx)
                intro = mail_texts.render_text(built_in.body, ctx).strip()
                text = render_to_string(f"{base}.txt", {**ctx, "intro": intro})
                html = render_to_string(f"{base}.html", ctx)
            else:
                subject, intro = parts
                own_ctx = {
                    **ctx,
                    "customised": True,
                    "intro": intro,
                    "intro_html": mail_texts.to_html(intro),
                }
                text = render_to_string(f"{base}.txt", own_ctx)
                html = _with_own_intro(f"{base}.html").render(own_ctx)
    return ComposedMail(
        event=event,
        language=lang,
        # one line: no header injection, no stray breaks; OutboxMessage.subject holds 300
        subject=" ".join(subject.split())[:300],
        text=_tidy(text),
        html="\n".join(line for line in html.splitlines() if line.strip()) + "\n",
    )


def _own_parts(event: str, own: mail_texts.MailText, ctx: dict[str, Any]) -> tuple[str, str] | None:
    try:
        return (
            mail_texts.render_text(own.subject, ctx),
            mail_texts.render_text(own.body, ctx).strip(),
        )
    except Exception:
        logger.exception("mail %s: the company's own text failed; the built-in one is sent", event)
        return None


@functools.cache
def _with_own_intro(name: str) -> Any:
    """The HTML template ``name`` with the company's message (``intro_html``) as its intro."""
    return engines["django"].from_string(
        f'{{% extends "{name}" %}}{{% block intro %}}{{{{ intro_html }}}}{{% endblock %}}'
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
