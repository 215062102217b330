"""Berichte: the reports of a period on the page and as downloads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.reporting import vat
from tests.payments.helpers import finalized


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_vat_summary_of_the_month_on_the_page_and_as_csv(
    staff_client, business_customer, actor
):
    import datetime as dt

    finalized(business_customer, actor, price="1000.00")  # 1.000,00 at 19 % on 16.11.
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    html = staff_client.get("/berichte/umsatzsteuer/", period).content.decode()
    report = html.split('data-report="umsatzsteuer"')[1].split("</section>")[0]
    assert "1.000,00\xa0€" in report
    assert "190,00\xa0€" in report
    csv = staff_client.get("/berichte/umsatzsteuer.csv", period)
    assert csv["Content-Type"].startswith("text/csv")
    expected = vat.vat_summary_table(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert csv.content.decode("utf-8-sig").count("\r\n") == len(expected.rows) + 1
    xlsx = staff_client.get("/berichte/umsatz-monat.xlsx", period)
    assert xlsx.content.startswith(b"PK")


@pytest.mark.django_db
def test_every_report_renders_and_bad_periods_are_refused(staff_client):
    from faktura.web.backoffice.views.reports import REPORTS

    for key in REPORTS:
        assert staff_client.get(f"/berichte/{key}/").status_code == 200, key
    reversed_period = {"start": "2026-12-01", "end": "2026-11-01"}
    page = staff_client.get("/berichte/umsatzsteuer/", reversed_period).content.decode()
    assert "Das Startdatum liegt nach dem Enddatum." in page
    assert staff_client.get("/berichte/gibt-es-nicht/").status_code == 404
    assert staff_client.get("/berichte/umsatzsteuer.pdf").status_code == 404
