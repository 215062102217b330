"""The back office's start page: who gets in, and figures a user can check."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.core import clock
from faktura.payments import services as payments
from faktura.reporting import dashboard
from tests.payments.helpers import finalized, open_amount, pay

TODAY = dt.date(2026, 11, 16)


def _user(name: str, *roles: str) -> User:
    user = User.objects.create_user(name, password="geheim-123")
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _issued(customer, actor, day: dt.date, price: str):
    with clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
        return finalized(customer, actor, price=price)


@pytest.fixture
def accountant_client(client, company):
    client.force_login(_user("buchhaltung", "accountant"))
    return client


def figure(html: str, name: str) -> str:
    block = re.search(rf'data-figure="{name}">(.*?)</article>', html, re.S)
    assert block, name
    # Spaces and line breaks of the markup collapse; the no-break space before € stays.
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", block.group(1))).strip()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_a_user_without_a_role_is_refused(client, company):
    client.force_login(_user("kunde"))
    assert client.get("/").status_code == 403


@pytest.mark.django_db
def test_signing_in_with_the_password_leads_to_the_start_page(client, company):
    _user("buchhaltung", "accountant")
    wrong = client.post("/login/", {"username": "buchhaltung", "password": "falsch"})
    assert "Benutzername oder Passwort ist falsch." in wrong.content.decode()
    response = client.post("/login/", {"username": "buchhaltung", "password": "geheim-123"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_figures_are_those_of_the_invoices_and_payments(
    accountant_client, business_customer, consumer, actor
):
    late = _issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")  # 1.190,00
    later = _issued(consumer, actor, dt.date(2026, 10, 1), "10.00")  # 10,00 gross
    _issued(business_customer, actor, TODAY, "2000.00")  # 2.380,00, not yet due
    pay(actor, "190.00", business_customer, day=TODAY - dt.timedelta(days=3))  # credit
    opens = [open_amount(i) for i in (late, later)]
    overdue = sum(opens, Decimal(0))
    receivables = dashboard.receivables(TODAY)
    assert receivables.overdue_total == overdue
    assert receivables.open_total == overdue + Decimal("2380.00")

    html = accountant_client.get("/").content.decode()
    open_text = f"{receivables.open_total:,.2f}".translate(str.maketrans(",.", ".,"))
    assert figure(html, "open").startswith(f"Offene Forderungen {open_text}\xa0€ 3 Rechnungen")
    overdue_text = f"{overdue:,.2f}".translate(str.maketrans(",.", ".,"))
    assert figure(html, "overdue") == (
        f"Davon überfällig {overdue_text}\xa0€ 2 Rechnungen · 2 Kunden"
    )
    assert figure(html, "received").startswith("Zahlungseingang 30 Tage 190,00\xa0€")
    most_overdue = html.split("Kunden mit den höchsten Rückständen")[1]
    assert most_overdue.index(business_customer.name) < most_overdue.index(consumer.name)


@pytest.mark.django_db
def test_the_page_speaks_english_when_asked(accountant_client, business_customer, actor):
    _issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")
    accountant_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = accountant_client.get("/").content.decode()
    assert figure(html, "overdue") == "Overdue €1,190.00 1 invoice · 1 customer"


def test_revenue_by_month_counts_corrections_against_their_month():
    assert dashboard._month_start(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert dashboard._month_start(dt.date(2026, 12, 5), 1) == dt.date(2027, 1, 1)


@pytest.mark.django_db
def test_the_dso_is_the_one_of_the_receivables_report(accountant_client, business_customer, actor):
    from faktura.reporting import receivables

    _issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")
    _issued(business_customer, actor, dt.date(2026, 10, 20), "300.00")
    report = receivables.dso(TODAY - dt.timedelta(days=89), TODAY).dso
    assert report is not None
    html = accountant_client.get("/").content.decode()
    days = report.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert figure(html, "dso").startswith(f"DSO {days} Tage")


@pytest.mark.django_db
def test_the_figures_are_summed_again_only_after_a_change(
    business_customer, actor, django_assert_max_num_queries
):
    invoice = _issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")  # 1.190,00
    first = dashboard.overview(TODAY)
    assert first.receivables.open_total == Decimal("1190.00")
    with django_assert_max_num_queries(1):  # the audit log's last entry, nothing summed
        assert dashboard.overview(TODAY) == first
    payment = pay(actor, "190.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "190.00")], actor=actor
    )
    after = dashboard.overview(TODAY)
    assert after != first
    assert after.received == Decimal("190.00")
    assert after.receivables.open_total == open_amount(invoice) == Decimal("1000.00")
