"""Direct debits for the statement tests: customers with mandates, a submitted pain.008 file,
and the camt lines a bank books for it (credits, returns)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from faktura.collection import services as collection
from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.core.actors import Actor
from faktura.customers.models import Customer
from faktura.customers.services import create_customer
from faktura.invoicing.models import Invoice
from faktura.payments.models import PaymentSettings
from tests.banking.camt_builder import Tx
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice

# Valid German example IBANs, one per debtor.
IBANS = [
    "DE89370400440532013000",
    "DE02500105170137075030",
    "DE75512108001245126199",
    "DE12500105170648489890",
    "DE02100500000054540402",
    "DE16200411330123456789",
]


@dataclass
class Debit:
    """One collected invoice: who, which mandate and account, and its batch item."""

    customer: Customer
    invoice: Invoice
    mandate: Mandate
    item: DirectDebitItem

    @property
    def amount(self) -> Decimal:
        return self.item.amount

    def credit(self) -> Tx:
        """The TxDtls of this debit in the bank's booking of the file."""
        return Tx(
            amount=f"{self.amount:.2f}",
            end_to_end_id=self.invoice.number or "",
            mandate=self.mandate.reference,
            name=self.mandate.debtor_name,
            iban=self.mandate.iban,
            remittance=f"Rechnung {self.invoice.number}",
        )

    def returned(self, code: str, fee: str | None = None) -> Tx:
        """The returned debit (Rücklastschrift): the amount plus the bank's fee."""
        booked = self.amount + (Decimal(fee) if fee else Decimal("0.00"))
        return Tx(
            amount=f"{booked:.2f}",
            end_to_end_id=self.invoice.number or "",
            mandate=self.mandate.reference,
            name=self.mandate.debtor_name,
            iban=self.mandate.iban,
            remittance=f"Rechnung {self.invoice.number}",
            return_code=code,
            fee=fee,
            original=f"{self.amount:.2f}",
        )


def debtors(company, actor: Actor, count: int) -> list[Customer]:
    """``count`` business customers paying by direct debit (short pre-notification)."""
    PaymentSettings.objects.get_or_create(defaults={"pre_notification_days": 1})
    customers = []
    for n in range(count):
        customer = create_customer(
            actor=actor,
            kind="business",
            name=f"Lastschrift Kunde {n + 1} GmbH",
            street="Hauptstraße",
            house_number=str(n + 1),
            postcode="10115",
            city="Berlin",
            email=f"kunde{n + 1}@example.org",
        )
        customers.append(debit_customer(customer, actor, iban=IBANS[n]))
    return customers


def submitted_batch(
    customers: list[Customer], actor: Actor, prices: list[str], *, day: dt.date = TOMORROW
) -> tuple[DirectDebitBatch, list[Debit]]:
    """One invoice per customer, collected in one submitted pain.008 file."""
    invoices = [due_invoice(c, actor, price=p) for c, p in zip(customers, prices, strict=True)]
    batch = collection.create_direct_debit_batch(collection_date=day, scheme="CORE", actor=actor)
    assert batch is not None
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    items = {item.invoice_id: item for item in batch.items.select_related("mandate")}
    debits = [
        Debit(customer=c, invoice=i, mandate=items[i.pk].mandate, item=items[i.pk])
        for c, i in zip(customers, invoices, strict=True)
    ]
    return batch, debits
