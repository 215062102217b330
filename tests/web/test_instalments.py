"""Ratenzahlungen in the back office: a plan for a customer's open invoices previewed (the
service's schedule) and agreed, one plan with its instalments paid and open, cancelled
with a reason; a role that may not sees no form and a forged request changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.dunning import instalments
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    Instalment,
    InstalmentAgreement,
)
from faktura.payments import services as payments
from tests.dunning.helpers import overdue
from tests.payments.helpers import pay
from tests.web.pages import rows
from tests.web.test_dunning import _client, messages_of

D = dt.date
NEW = "/mahnwesen/ratenzahlungen/neu/{}/"


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def invoices(consumer, actor):
    """Two overdue invoices of the consumer: 100.00 due 1 Oct, 50.00 due 15 Oct."""
    return (
        overdue(consumer, actor, due=D(2026, 10, 1)),
        overdue(consumer, actor, due=D(2026, 10, 15), price="50.00"),
    )


def section(html: str, marker: str) -> str:
    return html.split(marker)[1].split("</section>")[0]


def _terms(chosen, **changes) -> dict[str, object]:
    return {
        "invoices": [i.pk for i in chosen],
        "mode": "count",
        "count": "3",
        "first_due": "2026-12-01",
        "schedule": "",
        "grace_days": "7",
        "note": "Telefonat mit Herrn Mustermann",
        **changes,
    }


@pytest.mark.django_db
def test_a_plan_is_previewed_then_agreed_from_the_customer_page(accountant, consumer, invoices):
    first, second = invoices
    customer_page = accountant.get(f"/kunden/{consumer.pk}/").content.decode()
    assert f'href="{NEW.format(consumer.pk)}"' in section(customer_page, "data-agreements")
    form = accountant.get(NEW.format(consumer.pk)).content.decode()
    listed = section(form, "data-instalment-form")
    assert first.number in listed
    assert "100,00\xa0€" in listed
    assert "50,00\xa0€" in listed
    assert listed.count(" checked") == 3  # both invoices, and equal monthly instalments

    preview = accountant.post(NEW.format(consumer.pk), _terms(invoices, preview="1"))
    page = preview.content.decode()
    assert rows(page, "data-schedule") == [
        "1 | 01.12.2026 | 50,00\xa0€",
        "2 | 01.01.2027 | 50,00\xa0€",
        "3 | 01.02.2027 | 50,00\xa0€",
    ]
    assert "Gesamtbetrag der Vereinbarung: 150,00\xa0€" in page
    assert f"{first.number}: 100,00\xa0€, {second.number}: 50,00\xa0€" in page
    assert 'name="create"' in page
    assert not InstalmentAgreement.objects.exists()

    created = accountant.post(NEW.format(consumer.pk), _terms(invoices, create="1"), follow=True)
    agreement = InstalmentAgreement.objects.get()
    assert created.redirect_chain[-1][0] == f"/mahnwesen/ratenzahlungen/{agreement.pk}/"
    assert messages_of(created) == [
        f"Ratenzahlung {agreement.reference} vereinbart: 3 Raten, die erste fällig am "
        "01.12.2026. Das Mahnwesen ruht für diese Rechnungen."
    ]
    assert (agreement.total, agreement.grace_days, agreement.note) == (
        150,
        7,
        "Telefonat mit Herrn Mustermann",
    )
    detail = created.content.decode()
    assert "Aktiv" in detail
    assert f"{agreement.reference}-3" in detail
    overview = accountant.get("/mahnwesen/").content.decode()
    row = overview.split(f'data-agreement="{agreement.pk}"')[1].split("</tr>")[0]
    assert f'href="/mahnwesen/ratenzahlungen/{agreement.pk}/"' in row


@pytest.mark.django_db
def test_own_dates_and_amounts_are_previewed_and_mistakes_refused_with_nothing_made(
    accountant, consumer, invoices
):
    url = NEW.format(consumer.pk)
    own = accountant.post(
        url,
        _terms(
            invoices, mode="schedule", schedule="01.12.2026 100,00\n15.01.2027  50,00", preview="1"
        ),
    ).content.decode()
    assert rows(own, "data-schedule") == [
        "1 | 01.12.2026 | 100,00\xa0€",
        "2 | 15.01.2027 | 50,00\xa0€",
    ]
    for changes, expected in [
        (
            {"mode": "schedule", "schedule": "01.12.2026 100,00\n15.01.2027 49,99"},
            "Die Raten ergeben zusammen nicht den offenen Betrag der gewählten Rechnungen.",
        ),
        ({"first_due": "2026-11-15"}, "Die erste Rate kann nicht vor heute fällig sein."),
        ({"count": "61"}, "Eine Ratenzahlung hat 1 bis 60 Raten."),
        ({"count": ""}, "Bitte geben Sie die Anzahl der Raten und die erste Fälligkeit an"),
        ({"invoices": []}, "Bitte wählen Sie mindestens eine Rechnung."),
        ({"grace_days": "90"}, "Die Karenztage liegen zwischen 0 und 60."),
    ]:
        for button in ("preview", "create"):
            response = accountant.post(url, _terms(invoices, **changes, **{button: "1"}))
            assert response.status_code == 200
            assert messages_of(response)[0].startswith(expected), (changes, button)
            assert "data-schedule" not in response.content.decode()
    typo = accountant.post(
        url, _terms(invoices, mode="schedule", schedule="01.12.2026 100,00\nmorgen 50", preview="1")
    ).content.decode()
    assert "Zeile 2: bitte Fälligkeit und Betrag wie 01.12.2026 50,00 angeben." in typo
    assert not InstalmentAgreement.objects.exists()


@pytest.mark.django_db
def test_invoices_with_the_agency_or_in_a_plan_are_marked_and_refused(
    accountant, consumer, invoices, actor
):
    first, second = invoices
    case = CollectionCase.objects.create(
        customer=consumer, proposed_on=D(2026, 11, 16), proposed_by="system"
    )
    CollectionCaseInvoice.objects.create(case=case, invoice=first, open_amount=first.payable_amount)
    form = accountant.get(NEW.format(consumer.pk)).content.decode()
    row = form.split(f'data-invoice="{first.number}"')[1].split("</tr>")[0]
    assert "beim Inkasso" in row
    assert " checked" not in row
    refused = accountant.post(NEW.format(consumer.pk), _terms(invoices, preview="1"))
    assert messages_of(refused) == [
        "Eine gewählte Rechnung liegt beim Inkassobüro; rufen Sie den Inkassofall zuerst zurück."
    ]
    agreed = instalments.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[second.pk],
        instalments=1,
        first_due_date=D(2026, 12, 1),
        actor=actor,
    )
    marked = accountant.get(NEW.format(consumer.pk)).content.decode()
    row = marked.split(f'data-invoice="{second.number}"')[1].split("</tr>")[0]
    assert f"in Ratenzahlung {agreed.reference}" in row
    again = accountant.post(NEW.format(consumer.pk), _terms([second], create="1"))
    assert messages_of(again) == [
        "Eine gewählte Rechnung ist schon in einer laufenden Ratenzahlung."
    ]
    assert InstalmentAgreement.objects.count() == 1


@pytest.mark.django_db
def test_the_plan_shows_paid_and_open_instalments_and_is_cancelled_with_a_reason(
    accountant, consumer, invoices, actor
):
    first, _second = invoices
    agreement = instalments.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[first.pk],
        instalments=2,
        first_due_date=D(2026, 11, 16),
        actor=actor,
    )
    payments.allocate_payment(
        payment_id=pay(actor, "50.00", consumer).pk,
        allocations=[(first.pk, "50.00")],
        actor=actor,
    )
    url = f"/mahnwesen/ratenzahlungen/{agreement.pk}/"
    page = accountant.get(url).content.decode()
    assert rows(page, "data-instalments") == [
        f"1 | 16.11.2026 | {agreement.reference}-1 | 50,00\xa0€ | 50,00\xa0€ | 0,00\xa0€ | bezahlt",
        f"2 | 16.12.2026 | {agreement.reference}-2 | 50,00\xa0€ | 0,00\xa0€ | 50,00\xa0€ | offen",
    ]
    assert rows(page, "data-invoices") == [
        f"{first.number} | 01.10.2026 | 100,00\xa0€ | 50,00\xa0€"
    ]
    assert 'action="/mahnwesen/ratenzahlungen/' in page

    without = accountant.post(f"{url}aufheben", {"reason": " "}, follow=True)
    assert messages_of(without) == ["Bitte geben Sie einen Grund an."]
    assert InstalmentAgreement.objects.get().status == "active"
    cancelled = accountant.post(f"{url}aufheben", {"reason": "Kunde zahlt nicht"}, follow=True)
    assert messages_of(cancelled) == [
        "Die Ratenzahlung ist aufgehoben; die Rechnungen werden wieder gemahnt, ab der "
        "erreichten Stufe."
    ]
    agreement.refresh_from_db()
    assert (agreement.status, agreement.end_reason) == ("cancelled", "Kunde zahlt nicht")
    shown = cancelled.content.decode()
    assert "Aufgehoben" in shown
    assert "Kunde zahlt nicht" in shown
    assert "data-cancel" not in shown
    twice = accountant.post(f"{url}aufheben", {"reason": "nochmal"}, follow=True)
    assert messages_of(twice) == ["Die Ratenzahlung ist schon beendet."]


@pytest.mark.django_db
def test_the_dunning_page_leads_to_the_form_by_customer_number(accountant, consumer):
    overview = accountant.get("/mahnwesen/").content.decode()
    assert 'action="/mahnwesen/ratenzahlungen/neu/"' in overview
    found = accountant.get("/mahnwesen/ratenzahlungen/neu/", {"kunde": consumer.number.lower()})
    assert found.url == NEW.format(consumer.pk)
    unknown = accountant.get("/mahnwesen/ratenzahlungen/neu/", {"kunde": "K99999"}, follow=True)
    assert messages_of(unknown) == ["Kein Kunde mit der Nummer K99999."]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_a_role_that_may_not_sees_no_form_and_a_forged_post_changes_nothing(
    client, company, consumer, invoices, actor, role
):
    first, second = invoices
    agreement = instalments.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[first.pk],
        instalments=2,
        first_due_date=D(2026, 12, 1),
        actor=actor,
    )
    other = _client(client, role, role)
    assert NEW.format(consumer.pk) not in other.get(f"/kunden/{consumer.pk}/").content.decode()
    assert "data-instalment-start" not in other.get("/mahnwesen/").content.decode()
    form = other.get(NEW.format(consumer.pk)).content.decode()
    assert 'method="post"' not in form.split("data-instalment-form")[1]
    assert "Das darf Ihre Rolle nicht." in form
    detail = other.get(f"/mahnwesen/ratenzahlungen/{agreement.pk}/").content.decode()
    assert "data-cancel" not in detail
    before = list(Instalment.objects.values_list("pk", "amount", "paid_amount"))
    for button in ("preview", "create"):
        forged = other.post(NEW.format(consumer.pk), _terms([second], **{button: "1"}))
        assert messages_of(forged) == ["Das darf Ihre Rolle nicht."]
        assert "data-schedule" not in forged.content.decode()
    cancel = other.post(
        f"/mahnwesen/ratenzahlungen/{agreement.pk}/aufheben", {"reason": "x"}, follow=True
    )
    assert messages_of(cancel) == ["Das darf Ihre Rolle nicht."]
    assert list(InstalmentAgreement.objects.values_list("pk", "status")) == [
        (agreement.pk, "active")
    ]
    assert list(Instalment.objects.values_list("pk", "amount", "paid_amount")) == before
