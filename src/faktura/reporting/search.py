"""The back office's global search: one text, read as whatever it can be (an invoice or
customer number, a name, an amount, an IBAN, an e-mail address), across invoices,
customers, payments and bank lines.

A selector: a bounded number of queries (one per group, each at most ``LIMIT`` rows),
nothing written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q

from faktura.invoicing.selectors import parse_amount

LIMIT = 20
MAX_LENGTH = 100
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


@dataclass(frozen=True)
class Query:
    """What the typed text can mean."""

    text: str
    amount: Decimal | None
    iban: str | None
    email: str | None


@dataclass
class Results:
    query: Query
    invoices: list[Any] = field(default_factory=list)
    customers: list[Any] = field(default_factory=list)
    payments: list[Any] = field(default_factory=list)
    bank_lines: list[Any] = field(default_factory=list)
    # ("invoice" | "customer", pk) when the text names exactly one of them.
    exact: tuple[str, int] | None = None

    @property
    def count(self) -> int:
        return len(self.invoices) + len(self.customers) + len(self.payments) + len(self.bank_lines)


def read(text: str) -> Query:
    text = text.strip()[:MAX_LENGTH]
    compact = re.sub(r"\s+", "", text).upper()
    amount = parse_amount(text) if any(c.isdigit() for c in text) else None
    return Query(
        text=text,
        amount=amount if amount is not None and amount > 0 else None,
        iban=compact if _IBAN.match(compact) else None,
        email=text.lower() if "@" in text else None,
    )


def search(text: str) -> Results:
    """Everything ``text`` can name, each group newest first and at most LIMIT rows."""
    from faktura.banking.models import BankTransaction
    from faktura.customers.models import Customer
    from faktura.invoicing import selectors as invoicing
    from faktura.invoicing.models import Invoice
    from faktura.payments.models import Payment

    query = read(text)
    results = Results(query=query)
    if len(query.text) < 2:
        return results
    words = query.text

    invoice_q = Q(number__icontains=words)
    customer_q = (
        Q(number__iexact=words) | Q(name__icontains=words) | Q(contact_name__icontains=words)
    )
    payment_q = Q(reference__icontains=words) | Q(payer_name__icontains=words)
    line_q = Q(counterparty_name__icontains=words) | Q(remittance_information__icontains=words)
    if query.amount is not None:
        invoice_q |= Q(payable_amount=query.amount) | Q(grand_total=query.amount)
        payment_q |= Q(amount=query.amount)
        line_q |= Q(amount=query.amount)
    if query.email:
        customer_q |= Q(email__iexact=query.email) | Q(additional_emails__icontains=query.email)
        invoice_q |= Q(customer__email__iexact=query.email)
    if query.iban:
        customer_q |= Q(mandates__iban=query.iban)
        payment_q |= Q(payer_iban=query.iban)
        line_q |= Q(counterparty_iban=query.iban)
    results.invoices = list(
        invoicing.with_open_amounts(
            Invoice.objects.filter(invoice_q).select_related("customer")
        ).order_by("-issue_date", "-pk")[:LIMIT]
    )
    # A subquery, not a join: a customer with two mandates of the IBAN is one hit.
    matching = Customer.objects.filter(customer_q).values("pk")
    results.customers = list(
        Customer.objects.filter(pk__in=matching).order_by("name", "pk")[:LIMIT]
    )
    results.payments = list(
        Payment.objects.filter(payment_q)
        .select_related("customer")
        .order_by("-date", "-pk")[:LIMIT]
    )
    results.bank_lines = list(
        BankTransaction.objects.filter(line_q).order_by("-booking_date", "-pk")[:LIMIT]
    )
    results.exact = _exact(results, words)
    return results


def _exact(results: Results, words: str) -> tuple[str, int] | None:
    """The one document or customer the text names by its number or e-mail address."""
    named = [i for i in results.invoices if (i.number or "").lower() == words.lower()]
    if len(named) == 1:
        return ("invoice", named[0].pk)
    customers = [
        c
        for c in results.customers
        if c.number.lower() == words.lower() or c.email.lower() == words.lower()
    ]
    if len(customers) == 1 and not named:
        return ("customer", customers[0].pk)
    return None
