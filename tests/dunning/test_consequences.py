"""What a dunning notice sets off: access restricted and blocked, the customer's product
told; a card still being tried again is not dunned."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.access import selectors as access
from faktura.core import clock
from faktura.payments.models import CardRetry, SavedPaymentMethod
from faktura.payments.services import allocate_payment
from faktura.webhooks.models import WebhookDelivery
from faktura.webhooks.services import create_endpoint
from tests.dunning.helpers import notices, overdue, run
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db
D = dt.date
DUE = D(2026, 10, 1)


def test_levels_restrict_then_block_and_payment_lifts_at_once(consumer, actor, settings):
    settings.FAKTURA_WEBHOOKS_ALLOW_HTTP = True
    admin = type(actor)(label="user:admin", roles=frozenset({"admin"}))
    create_endpoint(actor=admin, url="http://127.0.0.1:9/hooks")
    invoice = overdue(consumer, actor, due=DUE)
    for day, expected in [
        (D(2026, 10, 8), "active"),  # payment reminder
        (D(2026, 10, 22), "active"),  # 1st notice
        (D(2026, 11, 5), "restricted"),  # 2nd notice
        (D(2026, 11, 19), "blocked"),  # final notice
    ]:
        run(day)
        assert access.status(consumer.pk, day) == expected, day
    assert [n.level for n in notices(consumer)] == [0, 1, 2, 3]
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert events.count("dunning.notice_sent") == 4
    assert events.count("invoice.overdue") == 1
    assert events.count("customer.access_changed") == 2  # restricted, then blocked

    with clock.frozen(D(2026, 11, 20)):
        payment = pay(actor, "108.34", consumer)
        allocate_payment(payment_id=payment.pk, allocations=[(invoice.pk, "100.00")], actor=actor)
        assert access.status(consumer.pk, D(2026, 11, 20)) == "active"
    assert events.count("customer.access_changed") + 1 == (
        WebhookDelivery.objects.filter(event_type="customer.access_changed").count()
    )


def test_an_invoice_whose_card_is_tried_again_is_not_dunned(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    method = SavedPaymentMethod.objects.create(
        customer=consumer,
        provider_customer_id="cus_1",
        payment_method_id="pm_1",
        created_at=clock.now(),
        created_by="test",
    )
    retry = CardRetry.objects.create(
        invoice=invoice,
        method=method,
        state=CardRetry.State.RETRYING,
        first_declined_at=clock.now(),
        next_try_at=clock.now(),
        updated_at=clock.now(),
    )
    assert run(D(2026, 10, 8)).notices_sent == 0
    retry.state = CardRetry.State.EXHAUSTED
    retry.save()
    assert run(D(2026, 10, 9)).notices_sent == 1


def test_payment_at_level_2_stops_dunning_and_lifts_the_block_in_the_booking(consumer, actor):
    from faktura.core import audit
    from faktura.core.models import AuditEntry
    from faktura.payments.selectors import open_amounts
    from tests.banking.camt_builder import camt, transfer
    from tests.banking.helpers import PAYER_IBAN, import_on

    invoice = overdue(consumer, actor, due=DUE)
    for day in (D(2026, 10, 8), D(2026, 10, 22), D(2026, 11, 5)):
        run(day)
    assert access.status(consumer.pk, D(2026, 11, 5)) == "restricted"
    owed = open_amounts([invoice.pk])[invoice.pk]
    statement = camt(
        [
            transfer(
                f"{owed:f}",
                f"Rechnung {invoice.number}",
                name=consumer.name,
                iban=PAYER_IBAN,
                booked=D(2026, 11, 6),
            )
        ],
        message_id="STMT-LEVEL-2",
        created=D(2026, 11, 6),
    )
    assert import_on(statement, actor, day=D(2026, 11, 6)).booked == 1
    # Read right after the import: no task, no run in between.
    assert access.status(consumer.pk, D(2026, 11, 6)) == "active"
    actions = list(
        AuditEntry.objects.filter(chain__key=audit.customer_chain(consumer.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions[actions.index("payment.allocated") + 1] == "access.claims_paid"
    # The final notice's date passes without a notice: dunning stopped with the payment.
    assert run(D(2026, 11, 19)).notices_sent == 0
    assert [n.level for n in notices(consumer)] == [0, 1, 2]
