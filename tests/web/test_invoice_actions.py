"""Actions on a document in the back office: each calls its service; what a role may not
do is not shown, and a forged request is refused with nothing changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments.models import Allocation
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized, open_amount


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def viewer(client, company):
    return _client(client, "ansicht", "viewer")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_the_accountant_finalizes_a_draft(accountant, business_customer, actor):
    draft = order(business_customer, actor, line("1", "100.00"))
    page = accountant.get(f"/rechnungen/{draft.pk}/").content.decode()
    assert "Festschreiben" in page
    response = accountant.post(f"/rechnungen/{draft.pk}/festschreiben", follow=True)
    draft.refresh_from_db()
    assert draft.status == Status.FINALIZED
    assert draft.number
    assert messages_of(response) == ["Die Rechnung ist festgeschrieben; PDF und E-Mail folgen."]


@pytest.mark.django_db
def test_a_partial_payment_is_recorded_against_the_invoice(accountant, business_customer, actor):
    invoice = finalized(business_customer, actor)  # 119,00
    form = accountant.get(f"/rechnungen/{invoice.pk}/zahlung").content.decode()
    assert 'value="119,00"' in form
    assert 'type="date" name="date" value="2026-11-16"' in form  # a browser shows no other
    refused = accountant.post(
        f"/rechnungen/{invoice.pk}/zahlung",
        {"amount": "zwanzig", "date": "2026-11-16", "method": "transfer"},
    )
    assert "Bitte geben Sie einen Betrag wie 119,00 ein." in refused.content.decode()
    assert not Allocation.objects.exists()
    response = accountant.post(
        f"/rechnungen/{invoice.pk}/zahlung",
        {"amount": "50,00", "date": "2026-11-16", "method": "transfer", "reference": "RE"},
        follow=True,
    )
    assert messages_of(response) == ["Die Zahlung ist erfasst."]
    assert open_amount(invoice) == 69


@pytest.mark.django_db
def test_cancelling_asks_for_a_reason_on_a_confirmation_page(accountant, business_customer, actor):
    invoice = finalized(business_customer, actor)
    page = accountant.get(f"/rechnungen/{invoice.pk}/stornieren").content.decode()
    assert "lässt sich nicht rückgängig machen" in page
    without = accountant.post(f"/rechnungen/{invoice.pk}/stornieren", {"reason": ""})
    assert without.status_code == 200
    assert not Invoice.objects.filter(kind=Kind.CANCELLATION).exists()
    accountant.post(f"/rechnungen/{invoice.pk}/stornieren", {"reason": "Doppelt berechnet"})
    cancellation = Invoice.objects.get(kind=Kind.CANCELLATION)
    assert cancellation.original_id == invoice.pk
    assert cancellation.status == Status.FINALIZED


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(
    viewer, business_customer, actor
):
    draft = order(business_customer, actor, line("1", "100.00"))
    invoice = finalized(business_customer, actor)
    for document in (draft, invoice):
        page = viewer.get(f"/rechnungen/{document.pk}/").content.decode()
        actions = page.split('class="card actions"')[1].split("</section>")[0]
        assert "<button" not in actions
        assert "<a " not in actions
    response = viewer.post(f"/rechnungen/{draft.pk}/festschreiben", follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    viewer.post(
        f"/rechnungen/{invoice.pk}/zahlung",
        {"amount": "50,00", "date": "2026-11-16", "method": "transfer"},
    )
    viewer.post(f"/rechnungen/{invoice.pk}/stornieren", {"reason": "x"})
    assert not Allocation.objects.exists()
    assert not Invoice.objects.filter(kind=Kind.CANCELLATION).exists()


@pytest.mark.django_db
def test_the_cancel_and_payment_pages_are_not_shown_to_a_viewer(viewer, business_customer, actor):
    invoice = finalized(business_customer, actor)
    assert viewer.get(f"/rechnungen/{invoice.pk}/stornieren").status_code == 403
    assert viewer.get(f"/rechnungen/{invoice.pk}/zahlung").status_code == 403
