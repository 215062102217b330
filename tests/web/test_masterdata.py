"""Stammdaten in the back office: company, letterhead, number ranges, settings, mails and
the dunning policy. Saved values show after saving; bad input gets a German error and
changes nothing; a viewer sees no save button and a forged POST changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from faktura.core.models import AuditEntry, BankAccount, Company, NumberCounter, NumberRange
from faktura.documents.models import Letterhead
from faktura.dunning.models import DunningLevel, DunningPolicy
from faktura.payments.models import PaymentSettings

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _client(client, name: str, role: str, *, superuser: bool = False):
    user = User.objects.create_user(name, password="geheim-123", is_superuser=superuser)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def viewer(client, company):
    return _client(client, "ansicht", "viewer")


@pytest.fixture
def admin(client, company):
    return _client(client, "chefin", "admin")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def company_post(company: Company, **changes: str) -> dict[str, str]:
    account = company.bank_accounts.get()
    data = {
        "legal_name": company.legal_name,
        "legal_form": company.legal_form,
        "street": company.street,
        "house_number": company.house_number,
        "postcode": company.postcode,
        "city": company.city,
        "country": company.country,
        "register_court": company.register_court,
        "register_number": company.register_number,
        "managing_directors": company.managing_directors,
        "tax_number": company.tax_number,
        "vat_id": company.vat_id,
        "creditor_id": company.creditor_id,
        "email": company.email,
        "phone": company.phone,
        "website": company.website,
        "contact_name": company.contact_name,
        "bank-TOTAL_FORMS": "2",
        "bank-INITIAL_FORMS": "1",
        "bank-MIN_NUM_FORMS": "0",
        "bank-MAX_NUM_FORMS": "1000",
        "bank-0-id": str(account.pk),
        "bank-0-company": str(company.pk),
        "bank-0-bank_name": account.bank_name,
        "bank-0-account_holder": account.account_holder,
        "bank-0-iban": account.iban,
        "bank-0-bic": account.bic,
        "bank-0-is_default": "on",
        "bank-1-company": str(company.pk),
    }
    data.update(changes)
    return data


# --- navigation -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_stammdaten_is_the_last_entry_and_verwaltung_is_for_superusers_only(client, company):
    _client(client, "buchhaltung", "accountant")
    page = client.get("/").content.decode()
    nav = page.split('class="sidebar"')[1].split("</nav>")[0]
    entries = nav.split("<li>")[1:]
    assert "Berichte" in entries[-2]
    assert "Stammdaten" in entries[-1]
    assert "/admin/" not in page
    _client(client, "root", "accountant", superuser=True)
    assert "/admin/" in client.get("/").content.decode()


# --- Firma ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_accountant_changes_the_company_and_adds_a_bank_account(accountant, company):
    data = company_post(
        company,
        city="Hamburg",
        postcode="20095",
        **{
            "bank-1-bank_name": "Sparkasse",
            "bank-1-account_holder": "Muster Software GmbH",
            "bank-1-iban": "DE89 3704 0044 0532 0130 00",
        },
    )
    response = accountant.post("/stammdaten/firma/", data, follow=True)
    assert messages_of(response) == ["Die Firmendaten sind gespeichert."]
    page = response.content.decode()
    assert 'value="Hamburg"' in page
    assert "DE89370400440532013000" in page
    company.refresh_from_db()
    assert company.city == "Hamburg"
    assert BankAccount.objects.filter(iban="DE89370400440532013000").exists()
    assert AuditEntry.objects.filter(action="company.changed").exists()


@pytest.mark.django_db
def test_a_wrong_vat_id_and_iban_show_german_errors_and_change_nothing(accountant, company):
    entries = AuditEntry.objects.count()
    data = company_post(
        company,
        city="Hamburg",
        vat_id="DE123",
        **{"bank-0-iban": "DE00 1234"},
    )
    response = accountant.post("/stammdaten/firma/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ungültige USt-IdNr. DE123" in page
    assert "Ungültige IBAN DE00 1234" in page
    company.refresh_from_db()
    assert (company.city, company.vat_id) == ("Berlin", "DE136695976")
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_viewer_sees_the_company_read_only_and_a_forged_post_changes_nothing(viewer, company):
    page = viewer.get("/stammdaten/firma/").content.decode()
    assert "Muster Software GmbH" in page
    assert "Speichern" not in page
    assert "disabled" in page
    response = viewer.post("/stammdaten/firma/", company_post(company, city="Hamburg"), follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    company.refresh_from_db()
    assert company.city == "Berlin"


# --- Briefkopf ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_letterhead_is_saved_with_logo_and_colour(accountant, company):
    response = accountant.post(
        "/stammdaten/briefkopf/",
        {
            "accent_colour": "#aa3300",
            "show_footer": "on",
            "logo": SimpleUploadedFile("logo.png", PNG, content_type="image/png"),
        },
        follow=True,
    )
    assert messages_of(response) == ["Der Briefkopf ist gespeichert."]
    assert 'value="#aa3300"' in response.content.decode()
    saved = Letterhead.current()
    assert saved is not None
    assert saved.accent_colour == "#aa3300"
    assert saved.logo.name.startswith("letterhead/logo")


@pytest.mark.django_db
def test_a_bad_colour_is_refused_in_german(accountant, company):
    response = accountant.post(
        "/stammdaten/briefkopf/", {"accent_colour": "rot", "show_footer": "on"}
    )
    assert "Farbe als #rrggbb, z. B. #1f4e79" in response.content.decode()
    assert not Letterhead.objects.exists()


@pytest.mark.django_db
def test_the_preview_renders_the_sample_invoice_as_pdf(accountant, company):
    saved = accountant.get("/stammdaten/briefkopf/vorschau.pdf")
    assert saved["Content-Type"] == "application/pdf"
    assert saved["X-Frame-Options"] == "SAMEORIGIN"  # the page shows it in a frame
    assert saved.content.startswith(b"%PDF")
    pending = accountant.post(
        "/stammdaten/briefkopf/vorschau.pdf",
        {"accent_colour": "#aa3300", "show_footer": "on"},
    )
    assert pending["Content-Type"] == "application/pdf"
    assert pending.content.startswith(b"%PDF")
    assert not Letterhead.objects.exists()  # a preview saves nothing


@pytest.mark.django_db
def test_htmx_gets_a_frame_with_the_pending_preview(accountant, company):
    fragment = accountant.post(
        "/stammdaten/briefkopf/vorschau.pdf",
        {"accent_colour": "#aa3300", "show_footer": "on"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<iframe" in fragment
    src = fragment.split('src="')[1].split('"')[0].replace("&amp;", "&")
    pdf = accountant.get(src)
    assert pdf.content.startswith(b"%PDF")
    refused = accountant.post(
        "/stammdaten/briefkopf/vorschau.pdf",
        {"accent_colour": "rot"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert "Farbe als #rrggbb" in refused.content.decode()


@pytest.mark.django_db
def test_a_viewer_cannot_save_a_letterhead(viewer, company):
    page = viewer.get("/stammdaten/briefkopf/").content.decode()
    assert "Speichern" not in page
    response = viewer.post(
        "/stammdaten/briefkopf/", {"accent_colour": "#aa3300", "show_footer": "on"}, follow=True
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    assert not Letterhead.objects.exists()


# --- Nummernkreise --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pattern_changes_and_the_counter_runs_on(accountant, company):
    invoices = NumberRange.objects.get(kind="invoice")
    NumberCounter.objects.create(number_range=invoices, period=2026, last_value=41)
    page = accountant.get("/stammdaten/nummernkreise/").content.decode()
    assert invoices.format(year=2026, seq=42) in page
    response = accountant.post(
        "/stammdaten/nummernkreise/",
        {"kind": "invoice", "pattern": "R{year}-{seq:06d}"},
        follow=True,
    )
    assert messages_of(response) == [
        "Der Nummernkreis ist geändert; die Zählung läuft lückenlos weiter."
    ]
    assert "R2026-000042" in response.content.decode()
    assert NumberCounter.objects.get(number_range=invoices).last_value == 41


@pytest.mark.django_db
def test_the_yearly_reset_is_offered_only_before_the_first_number(accountant, company):
    customers = NumberRange.objects.get(kind="customer")
    invoices = NumberRange.objects.get(kind="invoice")
    NumberCounter.objects.create(number_range=invoices, period=2026, last_value=3)
    page = accountant.get("/stammdaten/nummernkreise/").content.decode()
    assert 'form="range-customer"' in page
    assert 'name="yearly_reset" form="range-invoice"' not in page
    response = accountant.post(
        "/stammdaten/nummernkreise/",
        {
            "kind": "customer",
            "pattern": "K-{year}-{seq:05d}",
            "reset_offered": "1",
            "yearly_reset": "on",
        },
        follow=True,
    )
    assert "läuft lückenlos weiter" in messages_of(response)[0]
    customers.refresh_from_db()
    assert (customers.pattern, customers.yearly_reset) == ("K-{year}-{seq:05d}", True)
    forged = accountant.post(
        "/stammdaten/nummernkreise/",
        {"kind": "invoice", "pattern": invoices.pattern, "reset_offered": "1"},
        follow=True,
    )
    assert "schon Nummern vergeben" in messages_of(forged)[0]
    invoices.refresh_from_db()
    assert invoices.yearly_reset is True


@pytest.mark.django_db
def test_a_pattern_without_seq_or_year_is_refused(accountant, company):
    invoices = NumberRange.objects.get(kind="invoice")
    before = invoices.pattern
    for pattern in ("RE-{year}", "RE-{seq:05d}", "RE-{jahr}-{seq}"):
        response = accountant.post(
            "/stammdaten/nummernkreise/", {"kind": "invoice", "pattern": pattern}, follow=True
        )
        assert messages_of(response)[0].startswith("Das Muster braucht {seq}")
    invoices.refresh_from_db()
    assert invoices.pattern == before


@pytest.mark.django_db
def test_a_pattern_of_another_range_is_refused(accountant, company):
    credit_notes = NumberRange.objects.get(kind="credit_note")
    before = credit_notes.pattern
    taken = NumberRange.objects.get(kind="invoice").pattern
    response = accountant.post(
        "/stammdaten/nummernkreise/", {"kind": "credit_note", "pattern": taken}, follow=True
    )
    assert messages_of(response) == [
        "Ein anderer Nummernkreis verwendet dieses Muster schon; die Nummern wären doppelt."
    ]
    credit_notes.refresh_from_db()
    assert credit_notes.pattern == before


@pytest.mark.django_db
def test_a_viewer_sees_the_ranges_but_cannot_change_them(viewer, company):
    invoices = NumberRange.objects.get(kind="invoice")
    before = invoices.pattern
    page = viewer.get("/stammdaten/nummernkreise/").content.decode()
    assert before in page
    assert 'name="pattern"' not in page
    response = viewer.post(
        "/stammdaten/nummernkreise/", {"kind": "invoice", "pattern": "X-{year}-{seq}"}, follow=True
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    invoices.refresh_from_db()
    assert invoices.pattern == before


# --- Rechnungs- und Zahlungseinstellungen ----------------------------------------------------


def settings_post(**changes: str) -> dict[str, str]:
    data = {
        "invoicing-payment_term_days": "14",
        "invoicing-approval_threshold": "",
        "invoicing-four_eyes_required": "on",
        "billing-review_days": "0",
        "billing-negative_proration": "credit",
        "billing-trial_notice_days": "3",
        "payment-pre_notification_days": "14",
        "payment-risk_score_threshold": "50",
        "payment-risk_action": "none",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_the_accountant_sets_payment_terms_and_threshold(accountant, company):
    response = accountant.post(
        "/stammdaten/einstellungen/",
        settings_post(
            **{
                "invoicing-payment_term_days": "30",
                "invoicing-approval_threshold": "5000,00",
                "payment-write_off_tolerance": "2,50",
            }
        ),
        follow=True,
    )
    assert messages_of(response) == ["Die Einstellungen sind gespeichert."]
    page = response.content.decode()
    assert 'value="30"' in page
    company.refresh_from_db()
    assert company.payment_term_days == 30
    assert company.approval_threshold == Decimal("5000.00")
    assert PaymentSettings.load().write_off_tolerance == Decimal("2.50")


@pytest.mark.django_db
def test_a_discount_without_days_is_refused_in_german(accountant, company):
    response = accountant.post(
        "/stammdaten/einstellungen/",
        settings_post(
            **{
                "invoicing-payment_term_days": "30",
                "invoicing-early_payment_discount_percent": "2,00",
            }
        ),
    )
    assert "Skonto braucht Frist und Prozentsatz zusammen." in response.content.decode()
    company.refresh_from_db()
    assert company.payment_term_days == 14
    assert not PaymentSettings.objects.exists()


@pytest.mark.django_db
def test_only_an_admin_switches_the_four_eyes_principle(client, company):
    _client(client, "buchhaltung", "accountant")
    page = client.get("/stammdaten/einstellungen/").content.decode()
    four_eyes = page.split('name="invoicing-four_eyes_required"')[1].split(">")[0]
    assert "disabled" in four_eyes
    forged = settings_post(**{"invoicing-four_eyes_required": None})
    client.post("/stammdaten/einstellungen/", forged, follow=True)  # the switch is ignored
    company.refresh_from_db()
    assert company.four_eyes_required is True
    _client(client, "chefin", "admin")
    response = client.post("/stammdaten/einstellungen/", forged, follow=True)
    assert messages_of(response) == ["Die Einstellungen sind gespeichert."]
    company.refresh_from_db()
    assert company.four_eyes_required is False
    assert AuditEntry.objects.filter(action="company.four_eyes_changed").exists()


@pytest.mark.django_db
def test_a_viewer_cannot_change_settings(viewer, company):
    assert "Speichern" not in viewer.get("/stammdaten/einstellungen/").content.decode()
    response = viewer.post(
        "/stammdaten/einstellungen/",
        settings_post(**{"invoicing-payment_term_days": "60"}),
        follow=True,
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    company.refresh_from_db()
    assert company.payment_term_days == 14


# --- E-Mail-Vorlagen ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_invoice_mail_is_previewed_with_the_company_data(viewer, company):
    page = viewer.get("/stammdaten/e-mail-vorlagen/").content.decode()
    assert "Muster Software GmbH" in page
    assert "Rechnung" in page
    html = viewer.get("/stammdaten/e-mail-vorlagen/invoice_issued/de.html")
    assert html["Content-Type"].startswith("text/html")
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    assert "default-src 'none'" in html["Content-Security-Policy"]
    assert "Muster Software GmbH" in html.content.decode()
    english = viewer.get("/stammdaten/e-mail-vorlagen/?vorlage=credit_note_issued&sprache=en")
    assert "Credit note" in english.content.decode()
    assert viewer.get("/stammdaten/e-mail-vorlagen/?vorlage=unbekannt").status_code == 404


# --- Mahnrichtlinie -------------------------------------------------------------------------


def level_post(policy: DunningPolicy, level: DunningLevel, **changes: str) -> dict[str, str]:
    prefix = f"p{policy.pk}-{level.number}-"
    data = {
        "days": str(level.days),
        "deadline_days": str(level.deadline_days),
        "fee_consumer": f"{level.fee_consumer}".replace(".", ","),
        "fee_business": f"{level.fee_business}".replace(".", ","),
        "access_effect": level.access_effect,
        "subject_de": level.subject_de,
        "text_de": level.text_de,
        "subject_en": level.subject_en,
        "text_en": level.text_en,
    }
    if level.interest:
        data["interest"] = "on"
    data.update(changes)
    return {
        "policy": str(policy.pk),
        "level": str(level.number),
        **{prefix + k: v for k, v in data.items() if v is not None},
    }


@pytest.mark.django_db
def test_the_accountant_changes_days_fee_and_interest_of_a_level(accountant, company):
    policy = DunningPolicy.objects.get(name="Verbraucher")
    level = policy.levels.get(number=1)
    response = accountant.post(
        "/stammdaten/mahnrichtlinie/",
        level_post(policy, level, days="21", fee_consumer="2,50", interest="on"),
        follow=True,
    )
    assert messages_of(response) == [
        "Die Mahnstufe ist gespeichert; der nächste Mahnlauf verwendet sie."
    ]
    assert "2,50\xa0€" in response.content.decode() or "2,50 €" in response.content.decode()
    level.refresh_from_db()
    assert (level.days, level.fee_consumer, level.interest) == (21, Decimal("2.50"), True)


@pytest.mark.django_db
def test_a_bad_level_is_refused_in_german_and_changes_nothing(accountant, company):
    policy = DunningPolicy.objects.get(name="Verbraucher")
    level = policy.levels.get(number=1)
    before = (level.days, level.fee_consumer, level.text_de)
    for changes, error in (
        ({"days": "0"}, "Tage und Fristen sind ganze Zahlen von 1 bis 365"),
        ({"fee_consumer": "2,555"}, "höchstens zwei Nachkommastellen"),
        ({"text_de": "Bitte zahlen Sie $betrag."}, "unbekannten Platzhalter"),
    ):
        response = accountant.post(
            "/stammdaten/mahnrichtlinie/", level_post(policy, level, **changes), follow=True
        )
        assert error in " ".join(messages_of(response)), changes
    level.refresh_from_db()
    assert (level.days, level.fee_consumer, level.text_de) == before


@pytest.mark.django_db
def test_a_viewer_sees_the_policy_but_cannot_change_it(viewer, company):
    policy = DunningPolicy.objects.get(name="Verbraucher")
    level = policy.levels.get(number=1)
    page = viewer.get("/stammdaten/mahnrichtlinie/").content.decode()
    assert level.name in page
    assert "Stufe speichern" not in page
    response = viewer.post(
        "/stammdaten/mahnrichtlinie/", level_post(policy, level, days="99"), follow=True
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    level.refresh_from_db()
    assert level.days != 99


@pytest.mark.django_db
def test_the_policy_collects_arrears_by_debit_up_to_a_limit(accountant, company):
    policy = DunningPolicy.objects.get(name="Verbraucher")
    prefix = f"p{policy.pk}-"
    refused = accountant.post(
        "/stammdaten/mahnrichtlinie/",
        {
            "policy": policy.pk,
            prefix + "collect_arrears_by_debit": "on",
            prefix + "arrears_debit_limit": "11",
        },
        follow=True,
    )
    assert messages_of(refused) == ["Höchstens 1 bis 10 Mal je Forderung."]
    policy.refresh_from_db()
    assert (policy.collect_arrears_by_debit, policy.arrears_debit_limit) == (False, 1)
    response = accountant.post(
        "/stammdaten/mahnrichtlinie/",
        {
            "policy": policy.pk,
            prefix + "collect_arrears_by_debit": "on",
            prefix + "arrears_debit_limit": "3",
        },
        follow=True,
    )
    assert messages_of(response) == ["Die Mahnrichtlinie ist gespeichert."]
    assert f'name="{prefix}arrears_debit_limit" value="3"' in response.content.decode()
    policy.refresh_from_db()
    assert (policy.collect_arrears_by_debit, policy.arrears_debit_limit) == (True, 3)
