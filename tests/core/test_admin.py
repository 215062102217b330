"""The admin (back office for now) answers for every model; finalized documents stay read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_admin_page_answers(staff_client, business_customer, actor, language):
    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    from django.contrib import admin

    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = staff_client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
    response = staff_client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk]))
    assert response.status_code == 200
    assert b"RE-2026-00001" in response.content


def test_a_finalized_invoice_cannot_be_deleted_from_the_admin(
    staff_client, business_customer, actor
):
    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    response = staff_client.post(
        reverse("admin:invoicing_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_admin_finalize_action_numbers_the_draft(staff_client, business_customer, actor):
    draft = order(business_customer, actor, line())
    staff_client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "finalize", "_selected_action": [draft.pk]},
    )
    assert Invoice.objects.get(pk=draft.pk).number == "RE-2026-00001"


def test_a_customer_added_in_the_admin_is_numbered_and_audited(staff_client, company):
    from faktura.core.models import AuditEntry
    from faktura.customers.models import Customer

    response = staff_client.post(
        reverse("admin:customers_customer_add"),
        {
            "kind": "business",
            "name": "Neu GmbH",
            "street": "Weg",
            "postcode": "10115",
            "city": "Berlin",
            "country": "DE",
            "email": "neu@example.org",
            "language": "de",
            "preferred_payment_method": "transfer",
            "xrechnung_syntax": "cii",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    customer = Customer.objects.get(name="Neu GmbH")
    assert customer.number == "K00001"
    assert AuditEntry.objects.filter(action="customer.created").exists()


def test_the_admin_stylesheet_is_served_without_debug(client, settings):
    assert settings.DEBUG is False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def test_the_admin_is_for_superusers_only(client, company):
    from django.contrib.auth.models import Group

    anna = get_user_model().objects.create_user("anna", password="pw-12345678", is_staff=True)
    anna.groups.add(Group.objects.get_or_create(name="admin")[0])  # the role, not superuser
    client.force_login(anna)

    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert "/admin/" not in client.get("/").content.decode()  # no "Verwaltung" link

    chef = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(chef)
    assert client.get("/admin/").status_code == 200
    assert 'href="/admin/"' in client.get("/").content.decode()
