"""A dunning fee charged by hand from the dunning section of an invoice's page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.dunning.models import DunningFee
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized


def _client(client, role: str):
    user = User.objects.create_user(role, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def _section(html: str) -> str:
    return html.partition('id="mahnwesen"')[2].split("</section>")[0]


def _said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def invoice(business_customer, actor):
    return finalized(business_customer, actor, price="100.00")


@pytest.mark.django_db
def test_an_accountant_charges_a_fee_and_sees_it_in_the_dunning_section(client, invoice):
    accountant = _client(client, "accountant")
    section = _section(accountant.get(f"/rechnungen/{invoice.pk}/").content.decode())
    assert "Noch keine Mahnung zu dieser Rechnung." in section
    assert f'action="/rechnungen/{invoice.pk}/mahngebuehr"' in section
    assert "data-fees" not in section

    response = accountant.post(
        f"/rechnungen/{invoice.pk}/mahngebuehr",
        {"amount": "7,50", "reason": "Porto der zweiten Mahnung"},
        follow=True,
    )

    assert _said(response) == ["Die Mahngebühr von 7,50\xa0€ ist erhoben."]
    fees = _section(response.content.decode()).split("data-fees")[1].split("</table>")[0]
    row = fees.split("<tbody>")[1]
    assert "Mahngebühr" in row
    assert "Porto der zweiten Mahnung" in row
    assert "7,50\xa0€" in row
    assert "offen" in row
    assert "(user:accountant)" in row
    fee = DunningFee.objects.get()
    assert (fee.customer_id, fee.invoice_id, fee.kind, fee.amount) == (
        invoice.customer_id,
        invoice.pk,
        "fee",
        Decimal("7.50"),
    )
    assert AuditEntry.objects.filter(action="dunning.fee_added").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        ({"amount": "0", "reason": "Porto"}, "Eine Mahngebühr ist ein Betrag größer als null."),
        ({"amount": "-5,00", "reason": "Porto"}, "Bitte geben Sie einen Wert größer als null ein."),
        ({"amount": "fünf", "reason": "Porto"}, "Bitte geben Sie einen Betrag wie 5,00 ein."),
        ({"amount": "2,505", "reason": "Porto"}, "Bitte geben Sie einen Betrag wie 5,00 ein."),
        ({"amount": "5,00", "reason": " "}, "Bitte geben Sie einen Grund an."),
        ({"amount": "5,00", "reason": "x" * 201}, "Der Grund hat höchstens 200 Zeichen."),
    ],
)
def test_a_wrong_fee_is_refused_in_german_and_charges_nothing(client, invoice, data, refusal):
    accountant = _client(client, "accountant")
    response = accountant.post(f"/rechnungen/{invoice.pk}/mahngebuehr", data, follow=True)
    assert _said(response) == [refusal]
    assert not DunningFee.objects.exists()


@pytest.mark.django_db
def test_a_draft_offers_no_fee(client, business_customer, actor):
    draft = order(business_customer, actor, line())
    accountant = _client(client, "accountant")
    html = accountant.get(f"/rechnungen/{draft.pk}/").content.decode()
    assert 'id="mahnwesen"' not in html
    assert "mahngebuehr" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_other_roles_see_no_form_and_a_forged_post_charges_nothing(client, invoice, role):
    staff = _client(client, role)
    html = staff.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "data-fee-form" not in html
    assert "mahngebuehr" not in html

    response = staff.post(
        f"/rechnungen/{invoice.pk}/mahngebuehr", {"amount": "5,00", "reason": "Porto"}, follow=True
    )

    assert _said(response) == ["Das darf Ihre Rolle nicht."]
    assert not DunningFee.objects.exists()
    assert staff.get(f"/rechnungen/{invoice.pk}/mahngebuehr").status_code == 405
    assert staff.post("/rechnungen/999999/mahngebuehr", {"amount": "5"}).status_code == 404
