"""A customer reaches nothing of another customer: every URL with another customer's
document or notice answers 404, also when the file exists; staff without a portal account
get 404, anonymous visitors the sign-in page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from faktura.documents import pipeline
from faktura.dunning.models import NoticeLetter
from faktura.payments.models import Payment
from tests.dunning.helpers import notices, overdue, run
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized
from tests.portal.conftest import page, signed_in
from tests.portal.test_paying import STRIPE, sessions  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def document_urls(invoice_id: int) -> list[str]:
    return [
        f"/portal/rechnungen/{invoice_id}/",
        f"/portal/rechnungen/{invoice_id}/pdf",
        f"/portal/rechnungen/{invoice_id}/xml",
        f"/portal/rechnungen/{invoice_id}/bezahlen/",
        f"/portal/rechnungen/{invoice_id}/girocode.svg",
    ]


PAGES = ["/portal/", "/portal/mahnungen/", "/portal/kontoauszug/", "/portal/kontoauszug/pdf",
         "/portal/kontaktdaten/"]  # fmt: skip


@pytest.fixture
def foreign(consumer, actor):
    """Another customer with an archived, overdue invoice and two notices with letters."""
    invoice = overdue(consumer, actor, due=dt.date(2026, 10, 1))
    pipeline.process(invoice.pk)
    run(dt.date(2026, 10, 8))
    run(dt.date(2026, 10, 22))
    found = notices(consumer)
    assert NoticeLetter.objects.filter(notice__in=found).count() == 2
    return {"invoice": invoice, "notices": found}


@override_settings(**STRIPE)
def test_another_customers_documents_and_notices_are_not_found(
    business_customer,
    actor,
    foreign,
    sessions,  # noqa: F811
):
    mine = finalized(business_customer, actor)
    pipeline.process(mine.pk)
    me = signed_in(business_customer)
    for url in document_urls(mine.pk):
        assert me.get(url).status_code == 200, url  # my own: found
    invoice = foreign["invoice"]
    for url in document_urls(invoice.pk):
        assert me.get(url).status_code == 404, url
    response = me.post(f"/portal/rechnungen/{invoice.pk}/online-bezahlen")
    assert response.status_code == 404
    assert sessions.calls == []
    for notice in foreign["notices"]:
        assert me.get(f"/portal/mahnungen/{notice.pk}/pdf").status_code == 404
    # Nor does anything of it show on my pages.
    for url in ("/portal/", "/portal/mahnungen/", "/portal/kontoauszug/"):
        html = page(me.get(url))
        assert invoice.number not in html, url
        assert "Max Mustermann" not in html, url
    # The other customer does reach them (the 404 above is about the owner, not the file).
    them = signed_in(foreign["invoice"].customer)
    assert them.get(f"/portal/rechnungen/{invoice.pk}/pdf").status_code == 200
    assert them.get(f"/portal/mahnungen/{foreign['notices'][1].pk}/pdf").status_code == 200
    assert not Payment.objects.exists()


def test_drafts_and_unknown_ids_are_not_found(portal, business_customer, actor):
    draft = order(business_customer, actor, line())
    for url in [*document_urls(draft.pk), *document_urls(999999), "/portal/mahnungen/999999/pdf"]:
        assert portal.get(url).status_code == 404, url


def test_staff_without_portal_account_get_404(business_customer, actor):
    mine = finalized(business_customer, actor)
    admin = User.objects.create_superuser("chefin", "chefin@example.org", "pw-12345678")
    accountant = User.objects.create_user("anna", password="pw-12345678", is_staff=True)
    accountant.groups.add(Group.objects.get_or_create(name="accountant")[0])
    for user in (admin, accountant):
        client = Client()
        client.force_login(user)
        for url in [*PAGES, *document_urls(mine.pk)]:
            assert client.get(url).status_code == 404, (user, url)


def test_anonymous_visitors_are_sent_to_the_sign_in_page(business_customer, actor):
    mine = finalized(business_customer, actor)
    client = Client()
    for url in [*PAGES, *document_urls(mine.pk), "/portal/mahnungen/1/pdf"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/portal/anmelden/?next=/portal/"), url
    assert client.post(f"/portal/rechnungen/{mine.pk}/online-bezahlen").status_code == 302
    sign_in = page(client.get("/portal/anmelden/"))
    assert "Anmeldelink senden" in sign_in
    assert "Verträge hier kündigen" in sign_in  # § 312k BGB, without signing in
