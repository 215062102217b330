"""A credit note for chosen lines and quantities, and the write-off of a small rest."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.catalog.models import Product, StockMovement, TaxRate
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import services as payments
from faktura.payments.models import WriteOff
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized, open_amount, pay


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


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def two_lines(business_customer, actor):
    """Line 1: 4 × 25,00; line 2: 1 × 200,00; net 300,00, gross 357,00."""
    draft = order(
        business_customer,
        actor,
        line("4", "25.00", name="Schulung"),
        line("1", "200.00", name="Einrichtung"),
    )
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


@pytest.mark.django_db
def test_the_credit_page_lists_what_remains_and_previews_the_totals(accountant, two_lines, actor):
    invoicing.create_credit_note(invoice_id=two_lines.pk, actor=actor, lines=[(1, "1")])
    page = accountant.get(f"/rechnungen/{two_lines.pk}/gutschrift").content.decode()
    first = page.split('data-line="1"')[1].split("</tr>")[0]
    assert "data-left>3<" in first  # 4 billed, 1 on a draft credit note already
    preview = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "2", "qty_2": "0,5", "preview": "1"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<html" not in preview
    totals = preview.split("data-preview")[1].split("</table>")[0]
    assert "150,00\xa0€" in totals  # 2 × 25,00 + 0,5 × 200,00 net
    assert "28,50\xa0€" in totals
    assert "data-credit-total>178,50\xa0€" in totals
    assert Invoice.objects.filter(kind=Kind.CREDIT_NOTE).count() == 1  # the preview wrote none


@pytest.mark.django_db
def test_a_partial_credit_lowers_the_open_amount_once_finalized(accountant, two_lines):
    response = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "2", "qty_2": "", "reason": "Zwei Plätze nicht genutzt", "create": "1"},
        follow=True,
    )
    credit = Invoice.objects.get(kind=Kind.CREDIT_NOTE)
    assert credit.status == Status.DRAFT
    assert credit.grand_total == Decimal("59.50")
    assert response.redirect_chain[-1][0] == f"/rechnungen/{credit.pk}/"
    assert [(li.name, li.quantity) for li in credit.lines.all()] == [("Schulung", 2)]
    accountant.post(f"/rechnungen/{credit.pk}/festschreiben")
    credit.refresh_from_db()
    assert credit.status == Status.FINALIZED
    assert open_amount(two_lines) == Decimal("297.50")
    page = accountant.get(f"/rechnungen/{two_lines.pk}/").content.decode()
    totals = page.split("data-totals")[1].split("</table>")[0]
    assert "59,50\xa0€" in totals  # credited
    assert "data-open>297,50\xa0€" in totals


@pytest.mark.django_db
def test_more_than_remains_or_a_bad_quantity_is_refused_with_nothing_created(accountant, two_lines):
    too_much = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "5", "reason": "x", "create": "1"},
    ).content.decode()
    assert "Das ist mehr, als auf der Rechnung noch gutgeschrieben werden kann." in too_much
    bad = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "zwei", "reason": "x", "create": "1"},
    ).content.decode()
    assert "Bitte geben Sie eine Menge wie 1 oder 2,5 ein." in bad
    none = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift", {"reason": "x", "create": "1"}
    ).content.decode()
    assert "Bitte geben Sie bei mindestens einer Position eine Menge an." in none
    negative = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "-1", "reason": "x", "create": "1"},
    ).content.decode()
    assert "Bitte geben Sie einen Wert größer als null ein." in negative
    without_reason = accountant.post(
        f"/rechnungen/{two_lines.pk}/gutschrift", {"qty_1": "1", "create": "1"}
    ).content.decode()
    assert "Dieses Feld ist zwingend erforderlich." in without_reason
    assert "data-credit-total>29,75\xa0€" in without_reason  # the preview stays in view
    assert not Invoice.objects.filter(kind=Kind.CREDIT_NOTE).exists()


@pytest.mark.django_db
def test_a_restocking_credit_note_puts_goods_back_when_finalized(
    accountant, business_customer, actor
):
    product = Product.objects.create(
        sku="KABEL-5",
        name="Kabel 5 m",
        unit_price=Decimal("10.00"),
        tax_rate=TaxRate.objects.get(code="de-19"),
        kind="goods",
        track_stock=True,
        stock_level=Decimal(10),
    )
    from faktura.invoicing.drafting import LineRequest

    draft = order(business_customer, actor, LineRequest(quantity="3", sku="KABEL-5"))
    invoice = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    product.refresh_from_db()
    assert product.stock_level == 7
    page = accountant.get(f"/rechnungen/{invoice.pk}/gutschrift").content.decode()
    assert "Bestand zurückbuchen" in page
    accountant.post(
        f"/rechnungen/{invoice.pk}/gutschrift",
        {"qty_1": "2", "reason": "Retoure", "restock": "on", "create": "1"},
    )
    credit = Invoice.objects.get(kind=Kind.CREDIT_NOTE)
    assert credit.restock
    accountant.post(f"/rechnungen/{credit.pk}/festschreiben")
    product.refresh_from_db()
    assert product.stock_level == 9
    assert StockMovement.objects.filter(product=product, quantity=2).exists()


@pytest.mark.django_db
def test_write_off_of_a_small_rest(accountant, business_customer, actor):
    invoice = finalized(business_customer, actor)  # 119,00
    payment = pay(actor, "118.50", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "118.50")], actor=actor
    )
    detail = accountant.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "Rest ausbuchen" in detail
    form = accountant.get(f"/rechnungen/{invoice.pk}/ausbuchen").content.decode()
    assert 'value="0,50"' in form
    assert "höchstens 1,00\xa0€" in form
    response = accountant.post(
        f"/rechnungen/{invoice.pk}/ausbuchen",
        {"amount": "0,50", "reason": "Bankgebühr des Kunden"},
        follow=True,
    )
    assert messages_of(response) == ["Der Betrag ist ausgebucht."]
    assert open_amount(invoice) == 0
    page = response.content.decode()
    assert "Bankgebühr des Kunden" in page.split("data-write-offs")[1]


@pytest.mark.django_db
def test_a_write_off_above_the_tolerance_or_the_open_amount_is_refused(
    accountant, business_customer, actor
):
    invoice = finalized(business_customer, actor)  # 119,00
    above = accountant.post(
        f"/rechnungen/{invoice.pk}/ausbuchen", {"amount": "5,00", "reason": "Kulanz"}
    )
    assert "Der Betrag ist höher als die Ausbuchungsgrenze." in above.content.decode()
    payment = pay(actor, "118.50", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "118.50")], actor=actor
    )
    more = accountant.post(
        f"/rechnungen/{invoice.pk}/ausbuchen", {"amount": "0,80", "reason": "Kulanz"}
    )
    assert "Der Betrag ist höher als der offene Betrag." in more.content.decode()
    no_reason = accountant.post(f"/rechnungen/{invoice.pk}/ausbuchen", {"amount": "0,50"})
    assert no_reason.status_code == 200
    assert not WriteOff.objects.exists()
    assert open_amount(invoice) == Decimal("0.50")


@pytest.mark.django_db
def test_a_viewer_sees_neither_and_forged_posts_change_nothing(viewer, two_lines):
    detail = viewer.get(f"/rechnungen/{two_lines.pk}/").content.decode()
    assert "Gutschrift erstellen" not in detail
    assert "Rest ausbuchen" not in detail
    page = viewer.get(f"/rechnungen/{two_lines.pk}/gutschrift").content.decode()
    assert 'name="create"' not in page
    refused = viewer.post(
        f"/rechnungen/{two_lines.pk}/gutschrift",
        {"qty_1": "1", "reason": "x", "create": "1"},
    )
    assert "Das darf Ihre Rolle nicht." in refused.content.decode()
    write_off = viewer.get(f"/rechnungen/{two_lines.pk}/ausbuchen").content.decode()
    assert 'method="post"' not in write_off.split("<main")[1]
    assert "Das darf Ihre Rolle nicht." in write_off
    viewer.post(f"/rechnungen/{two_lines.pk}/ausbuchen", {"amount": "0,50", "reason": "x"})
    assert not Invoice.objects.filter(kind=Kind.CREDIT_NOTE).exists()
    assert not WriteOff.objects.exists()
