"""The accountant's day in a real browser: sign-in, the start page's figures against the
API's, four-eyes approval by a second person, finalization, a partial payment, a partial
credit note, a cancellation through its confirmation page, and a bank statement whose
unmatched line is assigned by hand, with the Aufgaben count following every step."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db.models import Q
from playwright.sync_api import expect

from faktura.api.keys import create_api_key
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.documents.pdf.texts import money
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import services as payments
from tests.banking.camt_builder import camt, transfer
from tests.conftest import TODAY
from tests.e2e.conftest import expect_messages, german_amount, inbox_count, log_in, staff_user
from tests.invoicing.helpers import line, order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC))


@pytest.fixture
def day(company, business_customer):
    """Anna (accounting) and Bernd (approval); three finalized invoices and one draft
    above the approval threshold that Anna drafted."""
    company.approval_threshold = Decimal("1000.00")
    company.save(update_fields=["approval_threshold"])
    anna = staff_user("anna", "accountant")
    bernd = staff_user("bernd", "approver")
    as_anna = Actor.for_user(anna)
    with _at(dt.date(2026, 9, 15)):  # due 29.09.: overdue today
        overdue = invoicing.finalize_invoice(
            invoice_id=order(business_customer, as_anna, line("2", "100.00")).pk, actor=as_anna
        )
    with _at(dt.date(2026, 10, 1)):
        paid = invoicing.finalize_invoice(
            invoice_id=order(business_customer, as_anna, line("1", "100.00")).pk, actor=as_anna
        )
    with _at(dt.date(2026, 10, 25)):
        payments.request_manual_payment(
            actor=as_anna,
            amount="119.00",
            date=dt.date(2026, 10, 25),
            method="transfer",
            reference=paid.number,
            invoice_id=paid.pk,
        )
    to_cancel = invoicing.finalize_invoice(
        invoice_id=order(business_customer, as_anna, line("1", "50.00")).pk, actor=as_anna
    )
    big = order(business_customer, as_anna, line("10", "100.00", name="Einführung"))
    assert big.status == Status.PENDING_APPROVAL
    _key, secret = create_api_key(name="e2e", user=anna, scopes=["read", "write"])
    return {
        "anna": anna,
        "bernd": bernd,
        "overdue": overdue,
        "to_cancel": to_cancel,
        "big": big,
        "secret": secret,
    }


def _api(page, secret: str, path: str, **params: str) -> dict:
    response = page.request.get(
        f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.ok, response.text()
    return response.json()


def _figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"] .amount').inner_text().strip()


def assert_start_page_matches_the_api(page, secret: str) -> None:
    """Each figure on the start page is what the reports API says for today."""
    page.goto("/")
    items = _api(page, secret, "/reports/open-items", date=TODAY.isoformat())["data"]
    invoices = [i for i in items if i["kind"] == "invoice" and Decimal(i["open_amount"]) > 0]
    open_total = sum((Decimal(i["open_amount"]) for i in invoices), Decimal("0.00"))
    overdue = [i for i in invoices if i["days_overdue"] > 0]
    overdue_total = sum((Decimal(i["open_amount"]) for i in overdue), Decimal("0.00"))
    start = TODAY - dt.timedelta(days=29)
    listed = _api(page, secret, "/payments", limit="100")
    assert not listed.get("has_more"), "more payments than one page: page through them"
    received = sum(
        (
            Decimal(p["amount"])
            for p in listed["data"]
            if start.isoformat() <= p["date"] <= TODAY.isoformat() and Decimal(p["amount"]) > 0
        ),
        Decimal("0.00"),
    )
    dso = _api(page, secret, "/reports/dso", to=TODAY.isoformat())
    days = (
        0
        if dso["dso"] is None
        else int(Decimal(dso["dso"]).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    )

    assert _figure(page, "open") == money(open_total, "EUR", "de")
    assert (
        page.locator('[data-figure="open"] .muted')
        .inner_text()
        .startswith(f"{len(invoices)} Rechnung")
    )
    assert _figure(page, "overdue") == money(overdue_total, "EUR", "de")
    assert (
        page.locator('[data-figure="overdue"] .muted')
        .inner_text()
        .startswith(f"{len(overdue)} Rechnung")
    )
    assert _figure(page, "received") == money(received, "EUR", "de")
    assert _figure(page, "dso") == (f"{days} Tag" if days == 1 else f"{days} Tage")


def _open_of(page) -> Decimal:
    return german_amount(page.locator("[data-open]").inner_text())


def test_the_accountants_day(day, new_context):
    anna = new_context().new_page()
    bernd = new_context().new_page()  # a second person: a browser context of his own

    # Sign-in through the login page; a wrong password is refused first.
    anna.goto("/")
    anna.get_by_label("Benutzername").fill("anna")
    anna.get_by_label("Passwort").fill("falsch")
    anna.get_by_role("button", name="Anmelden").click()
    expect(anna.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")
    log_in(anna, "anna")
    expect(anna.get_by_role("heading", level=1)).to_have_text("Start")
    assert_start_page_matches_the_api(anna, day["secret"])
    assert german_amount(_figure(anna, "open")) == Decimal("297.50")  # 238,00 + 59,50; no draft
    assert german_amount(_figure(anna, "overdue")) == Decimal("238.00")
    assert german_amount(_figure(anna, "received")) == Decimal("119.00")
    tasks = inbox_count(anna)
    assert tasks >= 1
    anna.get_by_role("link", name=re.compile("^Aufgaben")).click()
    expect(anna.locator("#approvals")).to_contain_text(f"(Entwurf {day['big'].pk})")

    # Four eyes: Anna drafted the big invoice, so she is offered no approval; Bernd is.
    big = day["big"]
    anna.goto(f"/rechnungen/{big.pk}/")
    expect(anna.get_by_role("button", name="Freigeben")).to_have_count(0)
    log_in(bernd, "bernd", f"/rechnungen/{big.pk}/")
    assert inbox_count(bernd) == tasks
    bernd.get_by_role("button", name="Freigeben").click()
    expect_messages(bernd, ["Die Rechnung ist freigegeben."])
    assert inbox_count(bernd) == tasks - 1

    # Anna finalizes it: it gets its number and is open in full.
    anna.reload()
    assert inbox_count(anna) == tasks - 1
    anna.get_by_role("button", name="Festschreiben").click()
    expect_messages(anna, ["Die Rechnung ist festgeschrieben; PDF und E-Mail folgen."])
    big.refresh_from_db()
    assert big.status == Status.FINALIZED
    expect(anna.get_by_role("heading", level=1)).to_have_text(f"Rechnung {big.number}")
    assert _open_of(anna) == Decimal("1190.00")

    # A partial payment.
    anna.get_by_role("link", name="Zahlung erfassen").click()
    expect(anna.get_by_label("Betrag")).to_have_value("1190,00")
    anna.get_by_label("Betrag").fill("500,00")
    anna.get_by_role("button", name="Zahlung erfassen").click()
    expect_messages(anna, ["Die Zahlung ist erfasst."])
    assert _open_of(anna) == Decimal("690.00")

    # A partial credit note of 119,00.
    # One of the ten lines credited through the picker.
    anna.get_by_role("link", name="Gutschrift erstellen").click()
    anna.get_by_label("Menge für Position 1").fill("1")
    anna.get_by_label("Grund der Gutschrift").fill("Eine Schulung entfällt")
    anna.get_by_role("button", name="Gutschrift anlegen").click()
    drafted = "Die Gutschrift ist als Entwurf angelegt; prüfen Sie sie und schreiben Sie sie fest."
    expect_messages(anna, [drafted])
    credit_id = Invoice.objects.get(original=big, kind=Kind.CREDIT_NOTE).pk
    anna.wait_for_url(f"**/rechnungen/{credit_id}/")
    anna.get_by_role("button", name="Festschreiben").click()
    expect_messages(anna, ["Die Rechnung ist festgeschrieben; PDF und E-Mail folgen."])
    credit = Invoice.objects.get(pk=credit_id)
    assert credit.kind == Kind.CREDIT_NOTE
    assert credit.number
    anna.get_by_role("link", name=big.number).click()
    assert german_amount(
        anna.locator("tr", has=anna.get_by_role("rowheader", name="Gutgeschrieben")).inner_text()
    ) == Decimal("119.00")
    assert _open_of(anna) == Decimal("571.00")
    expect(anna.locator("section", has_text="Korrekturen")).to_contain_text(credit.number)

    # A cancellation through the confirmation page; without a reason nothing happens.
    to_cancel = day["to_cancel"]
    anna.goto(f"/rechnungen/{to_cancel.pk}/")
    anna.get_by_role("link", name="Stornieren").click()
    expect(anna.get_by_role("heading", level=1)).to_have_text(
        f"Rechnung {to_cancel.number} stornieren"
    )
    expect(anna.locator("main")).to_contain_text("lässt sich nicht rückgängig machen")
    anna.get_by_label("Grund der Stornierung").fill("Doppelt berechnet")
    anna.get_by_role("button", name="Jetzt stornieren").click()
    expect_messages(anna, ["Die Stornorechnung ist festgeschrieben und wird dem Kunden gesendet."])
    cancellation = Invoice.objects.get(original=to_cancel, kind=Kind.CANCELLATION)
    assert cancellation.status == Status.FINALIZED
    expect(anna.locator("section", has_text="Korrekturen")).to_contain_text(cancellation.number)

    # A statement with a line nobody can match: one more task, assigned by hand.
    overdue = day["overdue"]
    anna.get_by_role("link", name="Bank", exact=True).click()
    statement = camt(
        [transfer("238.00", "Danke fuer alles", name="Unbekannt GmbH", booked=TODAY)],
        created=TODAY,
    )
    anna.get_by_label(re.compile("^Kontoauszug")).set_input_files(
        files=[{"name": "auszug.xml", "mimeType": "application/xml", "buffer": statement}]
    )
    anna.get_by_role("button", name="Einlesen").click()
    expect_messages(anna, ["1 neue Buchung: 0 gebucht, 1 offen."])
    assert inbox_count(anna) == tasks
    anna.get_by_role("link", name="Danke fuer alles").click()
    assert german_amount(anna.locator("[data-amount]").inner_text()) == Decimal("238.00")
    anna.get_by_label("Rechnungsnummer 1").fill(overdue.number)
    anna.get_by_label("Betrag").first.fill("238,00")
    anna.get_by_role("button", name="Zuordnen", exact=True).click()
    expect_messages(anna, ["Die Buchung ist zugeordnet."])
    assert inbox_count(anna) == tasks - 1
    anna.goto(f"/rechnungen/{overdue.pk}/")
    assert _open_of(anna) == Decimal("0.00")
    expect(anna.locator(".badge.ok", has_text="Bezahlt")).to_have_count(1)

    # The evening: the start page agrees with the API again, and with the day's work.
    assert_start_page_matches_the_api(anna, day["secret"])
    assert german_amount(_figure(anna, "open")) == Decimal(
        "571.00"
    )  # only the big invoice remains open
    assert german_amount(_figure(anna, "overdue")) == Decimal("0.00")
    assert german_amount(_figure(anna, "received")) == Decimal("857.00")  # 119,00 + 500,00 + 238,00
    assert not Invoice.objects.filter(
        Q(status=Status.PENDING_APPROVAL) | Q(status=Status.DRAFT)
    ).exists()
