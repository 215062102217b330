"""A dunning notice in the back office with its fees and interest, each open one waived
with a reason (dunning.services.waive_fee); only a role the matrix allows sees the action,
and a forged request changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.dunning.models import DunningFee, DunningNotice
from tests.dunning.helpers import overdue, run
from tests.web.pages import rows, text
from tests.web.test_dunning import _client, messages_of

D = dt.date


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def notice(consumer, actor) -> DunningNotice:
    """The consumer's first dunning notice (after the reminder): a fee of 2.50 for the whole
    notice and interest of 0.36 on the invoice."""
    overdue(consumer, actor, due=D(2026, 10, 1))
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    found = DunningNotice.objects.get(customer=consumer, level=1)
    assert sorted(found.fees.values_list("kind", "amount")) == [
        ("fee", Decimal("2.50")),
        ("interest", Decimal("0.36")),
    ]
    return found


def _fee(notice: DunningNotice, kind: str = "fee") -> DunningFee:
    return notice.fees.get(kind=kind)


def open_fees(client, customer) -> str:
    page = client.get(f"/kunden/{customer.pk}/").content.decode()
    return text(page.split('data-figure="fees">')[1].split("</article>")[0])


@pytest.mark.django_db
def test_the_notice_shows_its_figures_and_its_fees_each_waivable(accountant, notice, consumer):
    listed = accountant.get("/mahnwesen/mahnungen/").content.decode()
    assert f'href="/mahnwesen/mahnungen/{notice.pk}/"' in listed
    page = accountant.get(f"/mahnwesen/mahnungen/{notice.pk}/").content.decode()
    totals = text(page.split("data-totals")[1].split("</table>")[0])
    assert "Offene Rechnungsbeträge 100,00\xa0€" in totals
    assert "Mahngebühren 2,50\xa0€" in totals
    assert "Verzugszinsen 0,36\xa0€" in totals
    assert "Mahnung gesamt 102,86\xa0€" in totals
    invoice = notice.items.get().number
    assert rows(page, "data-fees") == [
        f"Verzugszinsen 02.10.2026 – 22.10.2026, 6,27 % | {invoice} | 0,36\xa0€ | offen"
        " | Grund Zinsen erlassen",
        "Mahngebühr | ganze Mahnung | 2,50\xa0€ | offen | Grund Gebühr erlassen",
    ]
    invoice_page = accountant.get(f"/rechnungen/{notice.items.get().invoice_id}/").content
    assert f'href="/mahnwesen/mahnungen/{notice.pk}/"' in invoice_page.decode()


@pytest.mark.django_db
def test_a_fee_is_waived_with_a_reason(accountant, notice, consumer):
    fee = _fee(notice)
    assert open_fees(accountant, consumer) == "Offene Gebühren 2,86\xa0€"
    url = f"/mahnwesen/gebuehren/{fee.pk}/erlassen"
    without = accountant.post(url, {"reason": ""}, follow=True)
    assert messages_of(without) == ["Bitte geben Sie einen Grund an."]
    fee.refresh_from_db()
    assert fee.is_open
    waived = accountant.post(url, {"reason": "Kulanz nach Reklamation"}, follow=True)
    assert waived.redirect_chain[-1][0] == f"/mahnwesen/mahnungen/{notice.pk}/"
    assert messages_of(waived) == ["Erlassen: Mahngebühr über 2,50\xa0€."]
    fee.refresh_from_db()
    assert (fee.is_open, fee.waived_reason, fee.waived_by) == (
        False,
        "Kulanz nach Reklamation",
        "user:buchhaltung",
    )
    row = rows(waived.content.decode(), "data-fees")[1]
    assert row == (
        "Mahngebühr | ganze Mahnung | 2,50\xa0€ | erlassen 16.11.2026 (user:buchhaltung) "
        "Kulanz nach Reklamation |"
    )
    assert open_fees(accountant, consumer) == "Offene Gebühren 0,36\xa0€"
    again = accountant.post(url, {"reason": "nochmal"}, follow=True)
    assert messages_of(again) == ["Die Gebühr ist schon bezahlt oder erlassen."]
    interest = accountant.post(
        f"/mahnwesen/gebuehren/{_fee(notice, 'interest').pk}/erlassen",
        {"reason": "Zinsen erlassen"},
        follow=True,
    )
    assert messages_of(interest) == ["Erlassen: Verzugszinsen über 0,36\xa0€."]
    assert open_fees(accountant, consumer) == "Offene Gebühren 0,00\xa0€"
    missing = accountant.post("/mahnwesen/gebuehren/99999/erlassen", {"reason": "x"}, follow=True)
    assert messages_of(missing) == ["Diese Gebühr gibt es nicht."]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_a_role_that_may_not_sees_no_waiver_and_a_forged_post_changes_nothing(
    client, company, notice, role
):
    other = _client(client, role, role)
    page = other.get(f"/mahnwesen/mahnungen/{notice.pk}/").content.decode()
    assert "Mahngebühr" in page
    assert "erlassen</button>" not in page
    assert "data-waive" not in page
    for fee in notice.fees.all():
        forged = other.post(
            f"/mahnwesen/gebuehren/{fee.pk}/erlassen", {"reason": "geschenkt"}, follow=True
        )
        assert messages_of(forged) == ["Das darf Ihre Rolle nicht."]
    assert [fee.is_open for fee in notice.fees.all()] == [True, True]
    assert not DunningFee.objects.filter(waived_at__isnull=False).exists()
