"""Master data validation: clear, specific errors, nothing written."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from faktura.core.errors import InvalidInput
from faktura.core.models import BankAccount, Company, NumberRange
from faktura.core.money import parse_amount
from faktura.customers.models import Customer
from faktura.customers.services import create_customer

pytestmark = pytest.mark.django_db


def customer_fields(**overrides):
    return {
        "name": "Test GmbH",
        "street": "Weg",
        "postcode": "10115",
        "city": "Berlin",
        "email": "t@example.org",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("vat_id", "DE123456789", "invalid_vat_id"),
        ("leitweg_id", "04011000-1234512345-07", "invalid_leitweg_id"),
        ("email", "kein-mail", "invalid_email"),
    ],
)
def test_customer_with_an_invalid_identifier_is_refused(company, actor, field, value, code):
    with pytest.raises(InvalidInput) as refused:
        create_customer(actor=actor, **customer_fields(**{field: value}))
    assert refused.value.field == field
    assert refused.value.code == code
    assert not Customer.objects.exists()


def test_customers_are_numbered_from_their_range(company, actor):
    first = create_customer(actor=actor, **customer_fields())
    second = create_customer(actor=actor, **customer_fields(email="b@example.org"))
    assert (first.number, second.number) == ("K00001", "K00002")


def test_vat_id_is_normalized(company, actor):
    customer = create_customer(actor=actor, **customer_fields(vat_id="de 136 695 976"))
    assert customer.vat_id == "DE136695976"


def test_public_bodies_need_a_leitweg_id(company, actor):
    with pytest.raises(InvalidInput) as refused:
        create_customer(actor=actor, **customer_fields(kind="public_body"))
    assert refused.value.field == "leitweg_id"


def test_invalid_iban_is_refused(company):
    account = BankAccount(company=company, account_holder="X", iban="DE02120300000000202052")
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert "iban" in refused.value.message_dict


def test_invalid_creditor_id_is_refused(company):
    company.creditor_id = "DE98ZZZ09999999998"
    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert "creditor_id" in refused.value.message_dict


def test_company_needs_tax_number_or_vat_id(db):
    company = Company(legal_name="X", street="Y", postcode="1", city="Z", email="a@b.de")
    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert "tax_number" in refused.value.message_dict


@pytest.mark.parametrize("value", ["1.001", "0.005", "12.3456"])
def test_three_decimal_amounts_are_refused(value):
    with pytest.raises(InvalidInput) as refused:
        parse_amount(value)
    assert refused.value.code == "too_many_decimals"


def test_amounts_keep_two_places():
    assert str(parse_amount("12.5")) == "12.50"
    assert str(parse_amount("12.500")) == "12.50"


def test_number_range_pattern_needs_a_sequence(db):
    number_range = NumberRange(kind="dunning_notice", pattern="MA-{year}")
    with pytest.raises(ValidationError):
        number_range.full_clean(validate_unique=False)


def test_yearly_reset_starts_again_at_one(company, business_customer, actor):
    import datetime as dt

    from faktura.core import clock
    from faktura.invoicing import services as invoicing
    from tests.invoicing.helpers import line, order

    numbers = []
    for day in (dt.date(2026, 12, 31), dt.date(2027, 1, 1)):
        with clock.frozen(day):
            invoice = order(business_customer, actor, line())
            numbers.append(invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor).number)
    assert numbers == ["RE-2026-00001", "RE-2027-00001"]
