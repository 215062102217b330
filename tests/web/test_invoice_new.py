"""A draft invoice by hand (/rechnungen/neu/): catalog and free lines, totals from the
invoicing service's preview, the draft from the order service; errors create nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.catalog.models import Product, TaxRate
from faktura.invoicing.models import Invoice, Status
from faktura.sales.models import Order


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


@pytest.fixture
def viewer(client, company):
    return _login(client, "ansicht", "viewer")


@pytest.fixture
def product(company):
    return Product.objects.create(
        sku="SUPPORT-M",
        name="Support Monat",
        unit_price=Decimal("49.90"),
        tax_rate=TaxRate.objects.get(code="de-19"),
    )


def form(customer, *rows, **extra):
    data = {"customer": str(customer.pk), "rows": str(len(rows))}
    for index, row in enumerate(rows):
        data.update({f"{key}_{index}": value for key, value in row.items()})
    data.update(extra)
    return data


@pytest.mark.django_db
def test_the_form_offers_customers_and_products(accountant, business_customer, product):
    page = accountant.get("/rechnungen/neu/").content.decode()
    assert "Beispiel Handel AG" in page
    assert "SUPPORT-M · Support Monat · 49,90\xa0€ · 19 %" in page
    assert 'name="create"' in page
    more = accountant.post(
        "/rechnungen/neu/", form(business_customer, {"sku": "SUPPORT-M", "qty": "1"}, add="1")
    ).content.decode()
    assert 'name="qty_1"' in more
    assert 'value="SUPPORT-M" selected' in more


@pytest.mark.django_db
def test_live_totals_come_from_the_service_preview(accountant, business_customer, product):
    html = accountant.post(
        "/rechnungen/neu/",
        form(
            business_customer,
            {"sku": "SUPPORT-M", "qty": "2"},
            {"name": "Fahrtkosten", "price": "30,00", "tax": "de-7", "qty": "1"},
        ),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<html" not in html
    totals = html.split("data-totals")[1].split("</table>")[0]
    assert "129,80\xa0€" in totals  # 99,80 + 30,00 net
    assert "18,96\xa0€" in totals  # 19 % of 99,80
    assert "2,10\xa0€" in totals  # 7 % of 30,00
    assert "data-grand>150,86\xa0€" in totals
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_creating_the_draft(accountant, business_customer, product):
    response = accountant.post(
        "/rechnungen/neu/",
        form(
            business_customer,
            {"sku": "SUPPORT-M", "qty": "1,5"},
            {"sku": "", "name": "", "price": "", "qty": ""},  # an empty row is left out
            create="1",
        ),
        follow=True,
    )
    invoice = Invoice.objects.get()
    assert response.redirect_chain[-1][0] == f"/rechnungen/{invoice.pk}/"
    assert invoice.status == Status.DRAFT
    assert invoice.is_manual
    assert invoice.order.source == Order.Source.BACKOFFICE
    assert invoice.grand_total == Decimal("89.07")  # 74,85 + 14,22
    assert [(li.sku, li.quantity) for li in invoice.lines.all()] == [("SUPPORT-M", Decimal("1.5"))]
    assert "Der Entwurf ist angelegt." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], "Bitte geben Sie mindestens eine Position an."),
        ([{"sku": "GIBT-ES-NICHT", "qty": "1"}], "Position 1: Diesen Artikel gibt es nicht"),
        ([{"sku": "SUPPORT-M", "qty": "viel"}], "Bitte geben Sie eine Menge wie 1 oder 2,5 ein."),
        ([{"sku": "SUPPORT-M", "qty": "0"}], "Position 1: Die Menge muss größer als null sein."),
        ([{"name": "", "price": "10,00", "qty": "1"}], "Position 1: Eine freie Position braucht"),
        ([{"name": "Frei", "price": "zehn", "qty": "1"}], "Einzelpreis wie 49,90"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(
    accountant, business_customer, product, rows, expected
):
    html = accountant.post(
        "/rechnungen/neu/", form(business_customer, *rows, create="1")
    ).content.decode()
    assert expected in html
    assert not Invoice.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_without_customer_nothing_is_created(accountant, product):
    html = accountant.post(
        "/rechnungen/neu/", {"rows": "1", "sku_0": "SUPPORT-M", "qty_0": "1", "create": "1"}
    ).content.decode()
    assert "Bitte wählen Sie einen Kunden." in html
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_a_viewer_sees_no_create_button_and_a_forged_post_creates_nothing(
    viewer, business_customer, product
):
    page = viewer.get("/rechnungen/neu/").content.decode()
    assert 'name="create"' not in page
    html = viewer.post(
        "/rechnungen/neu/",
        form(business_customer, {"sku": "SUPPORT-M", "qty": "1"}, create="1"),
    ).content.decode()
    assert "Das darf Ihre Rolle nicht." in html
    assert not Invoice.objects.exists()
    assert not Order.objects.exists()
