"""Entwurf verwerfen: a confirmation page on the draft, then back to the list with a
message; a finalized document is never discarded; who may not discard sees no button,
and a forged request is refused with nothing changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.invoicing.models import Invoice
from faktura.sales.models import Order
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _actions(page: str) -> str:
    return page.split('class="card actions"')[1].split("</section>")[0]


@pytest.mark.django_db
def test_a_draft_is_discarded_after_confirmation_and_the_list_says_so(
    accountant, business_customer, actor
):
    draft = order(business_customer, actor, line("1", "100.00"))
    page = accountant.get(f"/rechnungen/{draft.pk}/").content.decode()
    assert f'href="/rechnungen/{draft.pk}/verwerfen"' in _actions(page)
    confirm = accountant.get(f"/rechnungen/{draft.pk}/verwerfen").content.decode()
    assert "Entwurf für Beispiel Handel AG verwerfen" in confirm
    assert "über 119,00\xa0€" in confirm
    assert "lässt sich nicht rückgängig machen" in confirm
    assert Invoice.objects.filter(pk=draft.pk).exists()  # the page alone changes nothing

    response = accountant.post(f"/rechnungen/{draft.pk}/verwerfen", follow=True)
    assert response.redirect_chain == [("/rechnungen/", 302)]
    assert messages_of(response) == [
        "Der Entwurf für Beispiel Handel AG über 119,00\xa0€ ist verworfen."
    ]
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert not Order.objects.filter(pk=draft.order_id).exists()
    entry = AuditEntry.objects.get(action="invoice.discarded")
    assert (entry.object_id, entry.actor) == (str(draft.pk), "user:buchhaltung")
    assert accountant.get(f"/rechnungen/{draft.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_finalized_invoice_offers_no_discard_and_refuses_a_forged_one(
    accountant, business_customer, actor
):
    invoice = finalized(business_customer, actor)
    page = accountant.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "/verwerfen" not in page
    confirm = accountant.get(f"/rechnungen/{invoice.pk}/verwerfen").content.decode()
    assert "lässt sich nicht verwerfen" in confirm
    assert "<button" not in confirm.split("data-discard")[1]
    entries = AuditEntry.objects.count()
    response = accountant.post(f"/rechnungen/{invoice.pk}/verwerfen", follow=True)
    assert response.redirect_chain == [(f"/rechnungen/{invoice.pk}/", 302)]
    assert messages_of(response) == ["Das geht nur mit einem Entwurf."]
    assert Invoice.objects.get(pk=invoice.pk).number == invoice.number
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "cashier", "approver"])
def test_who_may_not_discard_sees_no_button_and_a_forged_post_changes_nothing(
    client, company, business_customer, actor, role
):
    draft = order(business_customer, actor, line("1", "100.00"))
    other = _login(client, "jemand", role)
    assert "/verwerfen" not in other.get(f"/rechnungen/{draft.pk}/").content.decode()
    assert other.get(f"/rechnungen/{draft.pk}/verwerfen").status_code == 403
    entries = AuditEntry.objects.count()
    assert other.post(f"/rechnungen/{draft.pk}/verwerfen").status_code == 403
    assert Invoice.objects.filter(pk=draft.pk).exists()
    assert Order.objects.filter(pk=draft.order_id).exists()
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_the_confirmation_speaks_english(accountant, business_customer, actor):
    draft = order(business_customer, actor, line("1", "100.00"))
    page = accountant.get(
        f"/rechnungen/{draft.pk}/verwerfen", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Discard the draft for Beispiel Handel AG" in page
    assert "€119.00" in page
    assert "Discard now" in page
