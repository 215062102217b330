"""A collection case in the back office: its invoices, what the agency reported paid and
what is still open; a payment of the agency recorded there (collection_handover.
record_agency_payment) with what it was allocated to. A role that may not sees no form, a
forged request changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.core.actors import Actor
from faktura.dunning import collection_handover
from faktura.dunning.models import CollectionCase, CollectionCaseInvoice, CollectionPayment
from faktura.payments.models import Allocation, Payment
from tests.dunning.helpers import overdue
from tests.payments.helpers import open_amount
from tests.web.pages import rows, text
from tests.web.test_dunning import _client, messages_of

D = dt.date
APPROVER = Actor(label="user:freigabe", roles=frozenset({"approver"}))


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def case(consumer, actor) -> CollectionCase:
    """A proposed case of the consumer: 60.00 due 1 Aug and 40.00 due 3 Aug."""
    proposal = CollectionCase.objects.create(
        customer=consumer, proposed_on=D(2026, 11, 16), proposed_by="system"
    )
    for due, price in ((D(2026, 8, 3), "40.00"), (D(2026, 8, 1), "60.00")):
        invoice = overdue(consumer, actor, due=due, price=price)
        CollectionCaseInvoice.objects.create(
            case=proposal, invoice=invoice, open_amount=invoice.payable_amount
        )
    return proposal


@pytest.fixture
def handed_over(case) -> CollectionCase:
    collection_handover.approve_case(case_id=case.pk, actor=APPROVER)
    case.refresh_from_db()
    return case


def totals(html: str) -> str:
    return text(html.split("data-totals>")[1].split("</table>")[0])


def _invoices(case: CollectionCase):
    return [item.invoice for item in case.items.order_by("invoice__due_date")]


@pytest.mark.django_db
def test_agency_payments_are_allocated_oldest_first_until_the_case_is_closed(
    accountant, handed_over
):
    older, newer = _invoices(handed_over)
    url = f"/mahnwesen/inkasso/{handed_over.pk}/"
    overview = accountant.get("/mahnwesen/").content.decode()
    assert f'href="{url}"' in overview.split(f'data-case="{handed_over.pk}"')[1].split("</tr>")[0]
    page = accountant.get(url).content.decode()
    assert "Freigegeben" in page
    assert totals(page) == (
        "Forderung bei Vorschlag 100,00\xa0€ Über das Inkassobüro gezahlt 0,00\xa0€ "
        "Kosten des Inkassobüros 0,00\xa0€ Noch offen 100,00\xa0€"
    )
    assert "data-agency-form" in page

    first = accountant.post(
        f"{url}zahlung", {"amount": "70,00", "costs": "12,50", "date": "2026-11-16"}, follow=True
    )
    assert first.redirect_chain[-1][0] == url
    assert messages_of(first) == [
        "Zahlung des Inkassobüros über 70,00\xa0€ gebucht. "
        f"Zugeordnet: {older.number} 60,00\xa0€, {newer.number} 10,00\xa0€. "
        "Kosten des Inkassobüros vermerkt: 12,50\xa0€. Noch offen: 30,00\xa0€."
    ]
    shown = first.content.decode()
    assert rows(shown, "data-invoices") == [
        f"{older.number} | 01.08.2026 | 60,00\xa0€ | 0,00\xa0€",
        f"{newer.number} | 03.08.2026 | 40,00\xa0€ | 30,00\xa0€",
    ]
    assert rows(shown, "data-agency-payments") == [
        f"16.11.2026 | 70,00\xa0€ | 12,50\xa0€ | {older.number}: 60,00\xa0€, "
        f"{newer.number}: 10,00\xa0€ | user:buchhaltung"
    ]
    assert totals(shown) == (
        "Forderung bei Vorschlag 100,00\xa0€ Über das Inkassobüro gezahlt 70,00\xa0€ "
        "Kosten des Inkassobüros 12,50\xa0€ Noch offen 30,00\xa0€"
    )
    assert (open_amount(older), open_amount(newer)) == (0, 30)

    rest = accountant.post(
        f"{url}zahlung", {"amount": "35,00", "costs": "0,00", "date": "2026-11-16"}, follow=True
    )
    assert messages_of(rest) == [
        "Zahlung des Inkassobüros über 35,00\xa0€ gebucht. "
        f"Zugeordnet: {newer.number} 30,00\xa0€. "
        "5,00\xa0€ sind mehr als offen und bleiben Guthaben des Kunden. "
        "Alles ist bezahlt; der Inkassofall ist abgeschlossen."
    ]
    handed_over.refresh_from_db()
    assert handed_over.status == "closed"
    closed = rest.content.decode()
    assert "Abgeschlossen" in closed
    assert "data-agency-form" not in closed
    assert "Noch offen 0,00\xa0€" in totals(closed)
    assert "5,00\xa0€ Guthaben" in rows(closed, "data-agency-payments")[1]


@pytest.mark.django_db
def test_wrong_input_is_refused_and_books_nothing(accountant, handed_over, case):
    url = f"/mahnwesen/inkasso/{handed_over.pk}/zahlung"
    for data, expected in [
        ({"amount": "viel", "costs": "0", "date": "2026-11-16"}, None),
        (
            {"amount": "0,00", "costs": "0", "date": "2026-11-16"},
            "Bitte geben Sie einen Betrag wie 119,00 ein.",
        ),
        (
            {"amount": "10,00", "costs": "-1,00", "date": "2026-11-16"},
            "Die Kosten des Inkassobüros können nicht negativ sein; ohne Kosten geben Sie 0,00 an.",
        ),
        (
            {"amount": "10,00", "costs": "0", "date": "2026-11-17"},
            "Das Zahlungsdatum liegt in der Zukunft.",
        ),
    ]:
        response = accountant.post(url, data)
        assert response.status_code == 200
        if expected is None:
            assert "Bitte geben Sie einen Betrag wie 119,00 ein." in response.content.decode()
        else:
            assert messages_of(response) == [expected]
        assert "data-agency-form" in response.content.decode()
    assert not CollectionPayment.objects.exists()
    assert not Payment.objects.exists()
    assert not Allocation.objects.exists()


@pytest.mark.django_db
def test_a_case_not_handed_over_takes_no_payment(accountant, case):
    page = accountant.get(f"/mahnwesen/inkasso/{case.pk}/").content.decode()
    assert "Vorgeschlagen" in page
    assert "data-agency-form" not in page
    forged = accountant.post(
        f"/mahnwesen/inkasso/{case.pk}/zahlung",
        {"amount": "10,00", "costs": "0", "date": "2026-11-16"},
    )
    assert messages_of(forged) == ["Der Inkassofall ist nicht (mehr) in diesem Stand."]
    assert not CollectionPayment.objects.exists()
    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_a_role_that_may_not_sees_no_form_and_a_forged_post_changes_nothing(
    client, company, handed_over, role
):
    other = _client(client, role, role)
    page = other.get(f"/mahnwesen/inkasso/{handed_over.pk}/").content.decode()
    assert "Noch offen 100,00\xa0€" in totals(page)
    assert "data-agency-form" not in page
    forged = other.post(
        f"/mahnwesen/inkasso/{handed_over.pk}/zahlung",
        {"amount": "100,00", "costs": "0", "date": "2026-11-16"},
        follow=True,
    )
    assert messages_of(forged) == ["Das darf Ihre Rolle nicht."]
    assert not CollectionPayment.objects.exists()
    assert not Payment.objects.exists()
    handed_over.refresh_from_db()
    assert handed_over.status == "approved"
    assert [open_amount(i) for i in _invoices(handed_over)] == [60, 40]
