"""Stammdaten › Artikel: the list, a new product, changing one, and who may."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.catalog import services as catalog
from faktura.catalog.models import Product, StockMovement, TaxRate
from faktura.core.models import AuditEntry


def _client(client, role: str):
    user = User.objects.create_user(role, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def _rate(code: str) -> int:
    return TaxRate.objects.get(code=code).pk


def _said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _row(html: str, product: Product) -> str:
    return html.split(f'data-product="{product.pk}"')[1].split("</tr>")[0]


def _error(html: str, field: str) -> str:
    return html.split(f'id="id_{field}_error"')[1].split("</p>")[0]


NEW = {
    "sku": "KABEL-5",
    "name": "Patchkabel 5 m",
    "description": "Cat. 6a, grau",
    "kind": "goods",
    "unit_code": "C62",
    "price_mode": "net",
    "unit_price": "0,1234",
    "track_stock": "on",
    "low_stock_threshold": "5",
    "stock_level": "25",
    "active": "on",
}


@pytest.fixture
def product(company, actor):
    return catalog.create_product(
        actor=actor,
        sku="BERATUNG",
        name="Beratung",
        unit_code="HUR",
        unit_price="120.00",
        tax_rate="de-19",
    )


@pytest.mark.django_db
def test_the_list_shows_price_tax_rate_and_stock(client, product, actor):
    tracked = catalog.create_product(
        actor=actor,
        sku="KABEL-1",
        name="Patchkabel 1 m",
        unit_price="3.5",
        tax_rate="de-19",
        track_stock=True,
        stock_level="3",
        low_stock_threshold="5",
    )
    viewer = _client(client, "viewer")
    html = viewer.get("/stammdaten/artikel/").content.decode()
    assert '<a href="/stammdaten/artikel/" aria-current="page">Artikel</a>' in html
    row = _row(html, product)
    assert "Beratung" in row
    assert "120,00\xa0€" in row
    assert "netto / HUR" in row
    assert "19 % USt" in row
    assert "Sonstige Leistung (Dienstleistung)" in row
    assert "—" in row  # no stock kept
    stock = _row(html, tracked)
    assert "3,50\xa0€" in stock
    assert "data-low-stock>3<" in stock  # at or below the reorder level
    assert "data-new-product" not in html
    assert "KABEL" in viewer.get("/stammdaten/artikel/", {"q": "kabel"}).content.decode()
    assert "BERATUNG" not in viewer.get("/stammdaten/artikel/", {"q": "kabel"}).content.decode()


@pytest.mark.django_db
def test_an_accountant_creates_a_product_the_draft_then_offers(client, company):
    accountant = _client(client, "accountant")
    page = accountant.get("/stammdaten/artikel/neu/").content.decode()
    options = page.split('name="tax_rate"')[1].split("</select>")[0]
    assert "19 % USt (19 %)" in options
    assert "7 % USt (ermäßigt) (7 %)" in options

    response = accountant.post(
        "/stammdaten/artikel/neu/", {**NEW, "tax_rate": _rate("de-19")}, follow=True
    )

    assert _said(response) == ["Der Artikel KABEL-5 ist angelegt."]
    product = Product.objects.get(sku="KABEL-5")
    row = _row(response.content.decode(), product)
    assert "0,1234\xa0€" in row
    assert "Lieferung (Ware)" in row
    assert ">25<" in row
    assert (product.unit_price, product.stock_level, product.low_stock_threshold) == (
        Decimal("0.1234"),
        Decimal("25"),
        Decimal("5"),
    )
    assert product.tax_rate.code == "de-19"
    assert StockMovement.objects.get(product=product).quantity == 25
    assert AuditEntry.objects.filter(action="product.created", object_id=str(product.pk)).exists()
    draft_page = accountant.get("/rechnungen/neu/").content.decode()
    assert "KABEL-5 · Patchkabel 5 m" in draft_page


@pytest.mark.django_db
def test_wrong_input_is_shown_at_its_field_and_saves_nothing(client, product):
    TaxRate.objects.filter(code="de-7").update(active=False)
    accountant = _client(client, "accountant")
    page = accountant.get("/stammdaten/artikel/neu/").content.decode()
    assert "ermäßigt" not in page.split('name="tax_rate"')[1].split("</select>")[0]

    html = accountant.post(
        "/stammdaten/artikel/neu/",
        {
            **NEW,
            "sku": "BERATUNG",
            "name": "",
            "unit_price": "1,23456",
            "tax_rate": _rate("de-7"),
        },
    ).content.decode()

    assert "Bitte korrigieren Sie die 4 markierten Felder." in html
    assert "existiert bereits" in _error(html, "sku")
    assert "Dieses Feld ist zwingend erforderlich." in _error(html, "name")
    assert "4 Dezimalstellen" in _error(html, "unit_price")
    assert "Bitte eine gültige Auswahl treffen." in _error(html, "tax_rate")
    assert list(Product.objects.values_list("sku", flat=True)) == ["BERATUNG"]

    # What only the service checks shows at its field too.
    refused = accountant.post(
        "/stammdaten/artikel/neu/",
        {**NEW, "low_stock_threshold": "-1", "tax_rate": _rate("de-19")},
    ).content.decode()
    assert "Der Meldebestand kann nicht negativ sein." in _error(refused, "low_stock_threshold")
    assert not Product.objects.filter(sku="KABEL-5").exists()


@pytest.mark.django_db
def test_an_accountant_changes_price_and_tax_rate(client, product):
    accountant = _client(client, "accountant")
    page = accountant.get(f"/stammdaten/artikel/{product.pk}/").content.decode()
    assert 'value="120,00"' in page
    data = {
        "sku": "BERATUNG",
        "name": "Beratung",
        "description": "",
        "kind": "service",
        "unit_code": "HUR",
        "price_mode": "net",
        "unit_price": "135,50",
        "tax_rate": _rate("de-7"),
        "active": "on",
    }

    response = accountant.post(f"/stammdaten/artikel/{product.pk}/", data, follow=True)

    assert _said(response) == ["Der Artikel BERATUNG ist gespeichert."]
    row = _row(response.content.decode(), product)
    assert "135,50\xa0€" in row
    assert "7 % USt (ermäßigt)" in row
    product.refresh_from_db()
    assert (product.unit_price, product.tax_rate.code) == (Decimal("135.50"), "de-7")
    entry = AuditEntry.objects.get(action="product.updated")
    assert entry.data["before"] == {"unit_price": "120.0000", "tax_rate": "de-19"}
    assert entry.data["after"] == {"unit_price": "135.5000", "tax_rate": "de-7"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_other_roles_only_look_and_a_forged_post_changes_nothing(client, product, role):
    staff = _client(client, role)
    page = staff.get(f"/stammdaten/artikel/{product.pk}/").content.decode()
    assert "Ihre Rolle darf Artikel nur ansehen." in page
    assert '<form method="post" class="stack settings"' not in page
    assert 'name="unit_price" value="120,00"' in page
    assert "disabled" in page.split('name="unit_price"')[1].split(">")[0]

    forged = staff.post(
        f"/stammdaten/artikel/{product.pk}/",
        {
            "sku": "BERATUNG",
            "name": "Beratung",
            "kind": "service",
            "unit_code": "HUR",
            "price_mode": "net",
            "unit_price": "1,00",
            "tax_rate": _rate("de-19"),
            "active": "on",
        },
    )

    assert _said(forged) == ["Das darf Ihre Rolle nicht."]
    product.refresh_from_db()
    assert product.unit_price == Decimal("120.00")
    assert staff.get("/stammdaten/artikel/neu/").status_code == 403
    created = staff.post("/stammdaten/artikel/neu/", {**NEW, "tax_rate": _rate("de-19")})
    assert created.status_code == 403
    assert list(Product.objects.values_list("sku", flat=True)) == ["BERATUNG"]
    assert not AuditEntry.objects.filter(action="product.updated").exists()
    assert staff.get("/stammdaten/artikel/999999/").status_code == 404
