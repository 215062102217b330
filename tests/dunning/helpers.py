"""Helpers of the dunning tests: overdue invoices with a chosen due date, runs, notices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.dunning.models import DunningFee, DunningNotice
from faktura.dunning.run import run_dunning
from faktura.invoicing.models import Invoice
from tests.payments.helpers import finalized

SYSTEM = Actor.system("test")


def overdue(customer, actor, *, due: dt.date, price: str = "100.00") -> Invoice:
    """A finalized invoice issued 14 days before ``due`` and due on ``due``."""
    with clock.frozen(dt.datetime.combine(due - dt.timedelta(days=14), dt.time(9), tzinfo=dt.UTC)):
        invoice = finalized(customer, actor, price=price)
    assert invoice.due_date == due, invoice.due_date
    return invoice


def run(on: dt.date, **kwargs):
    """A run, then what its task does after the commit: the letters and their mails."""
    result = run_dunning(on=on, actor=SYSTEM, **kwargs)
    deliver_letters()
    return result


def deliver_letters() -> None:
    from faktura.dunning import letter

    for notice_id in letter.undelivered():
        letter.deliver(notice_id)


def notices(customer) -> list[DunningNotice]:
    return list(DunningNotice.objects.filter(customer=customer).order_by("notice_date", "level"))


def figures(notice: DunningNotice) -> tuple[int, dt.date, Decimal, Decimal, Decimal, Decimal]:
    return (
        notice.level,
        notice.notice_date,
        notice.principal_total,
        notice.fees_total,
        notice.interest_total,
        notice.total,
    )


def fees(customer, kind: str) -> list[tuple[Decimal, dt.date | None, dt.date | None]]:
    return list(
        DunningFee.objects.filter(customer=customer, kind=kind)
        .order_by("pk")
        .values_list("amount", "period_start", "period_end")
    )
