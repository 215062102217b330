"""A credit note for a plain gross amount with a reason: the choice on the credit-note page,
its totals previewed, the draft it makes, the refusal of more than remains creditable,
and a role that may not correct invoices is offered nothing and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from tests.invoicing.helpers import line, order
from tests.payments.helpers import open_amount


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def invoice(business_customer, actor):
    """Net 300,00 at 19 %: 357,00."""
    draft = order(
        business_customer,
        actor,
        line("4", "25.00", name="Schulung"),
        line("1", "200.00", name="Einrichtung"),
    )
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def _url(invoice) -> str:
    return f"/rechnungen/{invoice.pk}/gutschrift"


def _amount(client, invoice, **data):
    return client.post(_url(invoice), {"art": "betrag", **data})


def _credit_notes() -> int:
    return Invoice.objects.filter(kind=Kind.CREDIT_NOTE).count()


@pytest.mark.django_db
def test_the_credit_page_offers_an_amount_and_previews_its_totals(accountant, invoice):
    lines_page = accountant.get(_url(invoice)).content.decode()
    modes = lines_page.split("data-credit-modes")[1].split("</nav>")[0]
    assert f'href="{_url(invoice)}?art=betrag"' in modes
    assert "Betrag gutschreiben" in modes
    page = accountant.get(_url(invoice), {"art": "betrag"}).content.decode()
    assert "Rechnungsbetrag 357,00\xa0€" in page
    assert "data-remaining>357,00\xa0€<" in page
    assert 'name="amount"' in page
    assert 'name="tax_rate"' not in page  # one VAT rate on the invoice: nothing to choose
    preview = accountant.post(
        _url(invoice), {"art": "betrag", "amount": "50,00"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in preview
    totals = preview.split("data-preview")[1].split("</table>")[0]
    assert "42,02\xa0€" in totals  # net: 50,00 ÷ 1,19
    assert "USt. 19 %" in totals
    assert "7,98\xa0€" in totals
    assert "data-credit-total>50,00\xa0€" in totals
    assert _credit_notes() == 0  # the preview wrote nothing


@pytest.mark.django_db
def test_an_amount_becomes_a_draft_credit_note_that_lowers_the_open_amount(accountant, invoice):
    response = accountant.post(
        _url(invoice),
        {"art": "betrag", "amount": "50,00", "reason": "Kulanz Lieferverzug", "create": "1"},
        follow=True,
    )
    credit = Invoice.objects.get(kind=Kind.CREDIT_NOTE)
    assert response.redirect_chain[-1][0] == f"/rechnungen/{credit.pk}/"
    assert messages_of(response) == [
        "Die Gutschrift ist als Entwurf angelegt; prüfen Sie sie und schreiben Sie sie fest."
    ]
    assert (credit.status, credit.original_id, credit.grand_total) == (
        Status.DRAFT,
        invoice.pk,
        Decimal("50.00"),
    )
    assert [(li.name, li.quantity) for li in credit.lines.all()] == [("Kulanz Lieferverzug", 1)]
    assert "Kulanz Lieferverzug" in response.content.decode()
    accountant.post(f"/rechnungen/{credit.pk}/festschreiben")
    credit.refresh_from_db()
    assert credit.status == Status.FINALIZED
    assert open_amount(invoice) == Decimal("307.00")
    page = accountant.get(_url(invoice), {"art": "betrag"}).content.decode()
    assert "data-remaining>307,00\xa0€<" in page


@pytest.mark.django_db
def test_more_than_remains_is_refused_in_german_and_nothing_is_created(accountant, invoice, actor):
    invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])  # 59,50
    before = (_credit_notes(), AuditEntry.objects.count())
    too_much = _amount(
        accountant, invoice, amount="297,51", reason="Kulanz", create="1"
    ).content.decode()
    assert (
        "Das ist mehr, als auf der Rechnung noch gutgeschrieben werden kann. "
        "Noch gutschreibbar sind 297,50\xa0€."
    ) in too_much
    assert "data-credit-total" not in too_much
    assert (_credit_notes(), AuditEntry.objects.count()) == before
    bad = _amount(accountant, invoice, amount="zehn", reason="x", create="1").content.decode()
    assert "Bitte geben Sie einen Betrag wie 119,00 ein." in bad
    zero = _amount(accountant, invoice, amount="0", reason="x", create="1").content.decode()
    assert "Bitte geben Sie einen Betrag wie 119,00 ein." in zero
    without_reason = _amount(accountant, invoice, amount="10,00", create="1").content.decode()
    assert "Dieses Feld ist zwingend erforderlich." in without_reason
    assert "data-credit-total>10,00\xa0€" in without_reason  # the preview stays in view
    assert (_credit_notes(), AuditEntry.objects.count()) == before
    # exactly what remains is fine
    _amount(accountant, invoice, amount="297,50", reason="Rest", create="1")
    assert _credit_notes() == 2
    assert invoicing.creditable_amount(invoice) == 0


@pytest.mark.django_db
def test_an_invoice_with_several_rates_asks_for_the_rate_of_the_amount(
    accountant, business_customer, actor
):
    draft = order(
        business_customer,
        actor,
        line("1", "100.00", name="Beratung"),
        line("1", "100.00", rate="de-7", name="Fachbuch"),
    )
    invoice = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)  # 119,00 + 107,00
    page = accountant.get(_url(invoice), {"art": "betrag"}).content.decode()
    select = page.split('name="tax_rate"')[1].split("</select>")[0]
    assert '<option value="de-19">USt. 19 %</option>' in select
    assert '<option value="de-7">USt. 7 %</option>' in select
    unchosen = _amount(accountant, invoice, amount="10,70", reason="Buch beschädigt", create="1")
    assert "Dieses Feld ist zwingend erforderlich." in unchosen.content.decode()
    assert _credit_notes() == 0
    preview = _amount(accountant, invoice, amount="10,70", tax_rate="de-7").content.decode()
    totals = preview.split("data-preview")[1].split("</table>")[0]
    assert "10,00\xa0€" in totals
    assert "USt. 7 %" in totals
    assert "0,70\xa0€" in totals
    _amount(
        accountant, invoice, amount="10,70", tax_rate="de-7", reason="Buch beschädigt", create="1"
    )
    credit = Invoice.objects.get(kind=Kind.CREDIT_NOTE)
    assert credit.grand_total == Decimal("10.70")
    assert [(t.rate, t.tax_amount) for t in credit.taxes.all()] == [
        (Decimal("7.00"), Decimal("0.70"))
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "approver", "cashier"])
def test_who_may_not_correct_is_offered_nothing_and_a_forged_post_changes_nothing(
    client, company, invoice, role
):
    other = _login(client, role, role)
    lines_page = other.get(_url(invoice)).content.decode()
    assert "Betrag gutschreiben" not in lines_page
    page = other.get(_url(invoice), {"art": "betrag"}).content.decode()
    assert 'method="post"' not in page.split("<main")[1]
    assert "Das darf Ihre Rolle nicht." in page
    before = (_credit_notes(), AuditEntry.objects.count())
    refused = _amount(other, invoice, amount="50,00", reason="Kulanz", create="1")
    assert refused.status_code == 200
    assert "Das darf Ihre Rolle nicht." in refused.content.decode()
    assert (_credit_notes(), AuditEntry.objects.count()) == before
    assert open_amount(invoice) == Decimal("357.00")
