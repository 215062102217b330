"""SEPA mandates: validation, revocation, 36-month expiry, TARGET2 calendar, pre-notification."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.collection import services as collection
from faktura.collection.calendar import (
    add_months,
    easter_sunday,
    is_business_day,
    next_business_day,
)
from faktura.collection.models import Mandate
from faktura.collection.selectors import direct_debit_snapshot_for, planned_debit_date
from faktura.core import clock
from faktura.core.errors import InvalidInput, StateConflict
from faktura.core.models import AuditEntry
from faktura.documents.snapshot import DirectDebitSnapshot
from faktura.invoicing.snapshots import snapshot_for
from faktura.payments.models import PaymentSettings
from tests.collection.helpers import SIGNED, debit_customer, due_invoice, mandate
from tests.conftest import TODAY
from tests.payments.helpers import IBAN, counts, finalized

pytestmark = pytest.mark.django_db


def test_a_mandate_takes_the_customers_address_and_switches_to_direct_debit(
    business_customer, actor
):
    assert business_customer.preferred_payment_method == "transfer"
    created = mandate(
        business_customer, actor, iban="DE89 3704 0044 0532 0130 00", bic="cobadeffxxx"
    )
    assert created.reference == f"{business_customer.number}-M01"
    assert (created.iban, created.bic) == (IBAN, "COBADEFFXXX")
    assert (created.debtor_name, created.street, created.house_number) == (
        "Beispiel Handel AG",
        "Hafenstraße",
        "5",
    )
    assert (created.postcode, created.city, created.country) == ("20457", "Hamburg", "DE")
    assert (created.status, created.scheme, created.kind) == ("active", "CORE", "recurring")
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "direct_debit"
    assert AuditEntry.objects.filter(action="mandate.created").count() == 1
    assert mandate(business_customer, actor).reference == f"{business_customer.number}-M02"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"iban": "DE89370400440532013001"}, "invalid_iban"),
        ({"bic": "NOTABIC"}, "invalid_bic"),
        ({"reference": "Mandat#1"}, "invalid_mandate_reference"),
        ({"reference": "A" * 36}, "invalid_mandate_reference"),
        ({"reference": "/ABC"}, "invalid_mandate_reference"),
        ({"scheme": "COR1"}, "invalid_scheme"),
        ({"kind": "sometimes"}, "invalid_mandate_kind"),
        ({"signed": TODAY + dt.timedelta(days=1)}, "mandate_signature_in_future"),
        ({"street": ""}, "missing_street"),
        ({"city": "X" * 36}, "invalid_city"),
    ],
)
def test_bad_mandates_are_refused(business_customer, actor, changes, code):
    before = counts()
    with pytest.raises(InvalidInput) as error:
        mandate(business_customer, actor, **changes)
    assert error.value.code == code
    assert counts() == before


def test_references_are_unique_and_b2b_is_for_businesses(business_customer, consumer, actor):
    mandate(business_customer, actor, reference="MANDAT-2026-1")
    with pytest.raises(InvalidInput) as error:
        mandate(consumer, actor, reference="MANDAT-2026-1")
    assert error.value.code == "mandate_reference_taken"
    with pytest.raises(InvalidInput) as error:
        mandate(consumer, actor, scheme="B2B")
    assert error.value.code == "b2b_mandate_for_consumer"
    assert mandate(business_customer, actor, scheme="B2B").scheme == "B2B"


def test_revoking_the_last_mandate_switches_the_customer_to_transfer(business_customer, actor):
    created = mandate(business_customer, actor)
    revoked = collection.revoke_mandate(mandate_id=created.pk, actor=actor, reason="Kündigung")
    assert (revoked.status, revoked.status_reason) == ("revoked", "Kündigung")
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "transfer"
    with pytest.raises(StateConflict) as error:
        collection.revoke_mandate(mandate_id=created.pk, actor=actor)
    assert error.value.code == "mandate_not_active"


def test_a_mandate_expires_36_months_after_its_last_collection(business_customer, actor):
    used = mandate(business_customer, actor, signed=dt.date(2023, 1, 10))
    Mandate.objects.filter(pk=used.pk).update(last_collection_date=dt.date(2023, 11, 17))
    used.refresh_from_db()
    assert used.expires_on == dt.date(2026, 11, 17)
    assert not used.is_expired(dt.date(2026, 11, 16))
    assert used.is_expired(dt.date(2026, 11, 17))
    assert collection.expire_mandates(as_of=TODAY, actor=actor) == 0
    with clock.frozen(dt.date(2026, 11, 17)):
        assert collection.expire_mandates(as_of=dt.date(2026, 11, 17), actor=actor) == 1
    used.refresh_from_db()
    assert used.status == "expired"
    assert used.status_reason == "36 Monate ohne Einzug (seit 2023-11-17)"
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "transfer"
    # Idempotent: a second run finds nothing.
    assert collection.expire_mandates(as_of=dt.date(2026, 11, 17), actor=actor) == 0


def test_an_unused_mandate_expires_36_months_after_signature(business_customer, actor):
    old = mandate(business_customer, actor, signed=dt.date(2023, 10, 1))
    assert old.expires_on == dt.date(2026, 10, 1)
    assert not old.is_usable(TODAY)
    assert collection.expire_mandates(as_of=TODAY, actor=actor) == 1


def test_the_target2_calendar():
    assert easter_sunday(2026) == dt.date(2026, 4, 5)
    assert easter_sunday(2027) == dt.date(2027, 3, 28)
    closed = [dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 5, 1), dt.date(2026, 1, 1)]
    assert not any(is_business_day(day) for day in closed)
    assert not is_business_day(dt.date(2026, 11, 21))  # Saturday
    assert is_business_day(dt.date(2026, 5, 14))  # Ascension Day: German holiday, TARGET2 open
    assert next_business_day(dt.date(2026, 12, 24)) == dt.date(2026, 12, 28)
    assert next_business_day(dt.date(2026, 11, 16)) == dt.date(2026, 11, 17)
    assert next_business_day(dt.date(2026, 11, 20)) == dt.date(2026, 11, 23)
    assert add_months(dt.date(2024, 2, 29), 36) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2023, 8, 31), 3) == dt.date(2023, 11, 30)


def test_pre_notification_snapshot_names_mandate_creditor_and_debit_date(business_customer, actor):
    debit_customer(business_customer, actor, payment_term_days=14)
    invoice = due_invoice(business_customer, actor)
    assert invoice.due_date == dt.date(2026, 11, 30)
    snapshot = direct_debit_snapshot_for(invoice)
    assert snapshot == DirectDebitSnapshot(
        mandate_reference=f"{business_customer.number}-M01",
        creditor_id="DE98ZZZ09999999999",
        debtor_iban=IBAN,
        debit_date=dt.date(2026, 11, 30),
    )
    assert snapshot_for(invoice, direct_debit=snapshot).payment_means == "direct_debit"


def test_debit_date_is_never_before_the_pre_notification_period(business_customer, actor):
    debit_customer(business_customer, actor, payment_term_days=0)
    invoice = due_invoice(business_customer, actor)
    # Due at once, but announced 14 days ahead: 2026-11-30 (a Monday).
    assert planned_debit_date(invoice) == dt.date(2026, 11, 30)
    PaymentSettings.objects.create(pre_notification_days=3)
    assert planned_debit_date(invoice) == dt.date(2026, 11, 19)
    # 5 days would be a Saturday: the next TARGET2 day.
    assert planned_debit_date(invoice, pre_notification_days=5) == dt.date(2026, 11, 23)


def test_no_snapshot_without_a_usable_mandate(business_customer, consumer, actor):
    assert direct_debit_snapshot_for(finalized(consumer, actor)) is None  # pays by transfer
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    collection.revoke_mandate(mandate_id=business_customer.mandates.get().pk, actor=actor)
    assert direct_debit_snapshot_for(invoice) is None


def test_one_off_mandate_sequence_type(business_customer, actor):
    one_off = mandate(business_customer, actor, kind="one_off", signed=SIGNED)
    assert one_off.sequence_type == "OOFF"
    assert mandate(business_customer, actor).sequence_type == "RCUR"
