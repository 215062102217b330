"""The statement of the customer's account (Kontoauszug): every movement with the running
balance, on the page and as the PDF letter."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from faktura.payments.account_statement import account_statement
from faktura.payments.statement_pdf import entry_text, render_account_statement
from faktura.web.portal.access import customer_view


def _lang() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


@customer_view
def statement(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    result = account_statement(customer.pk)
    lang = _lang()
    return render(
        request,
        "portal/statement.html",
        {
            "statement": result,
            # What the customer owes, or (negative balance) the credit they have.
            "balance": abs(result.closing_balance),
            "entries": [
                (
                    entry,
                    entry_text(entry, lang),
                    entry.amount if entry.amount > 0 else None,
                    -entry.amount if entry.amount < 0 else None,
                )
                for entry in result.entries
            ],
        },
    )


@customer_view
def statement_pdf(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _statement, filename, pdf = render_account_statement(customer.pk, lang=_lang())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
