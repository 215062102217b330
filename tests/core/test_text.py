"""Text that no document can show is refused where it enters: services, API and admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from faktura.catalog import services as catalog
from faktura.core.errors import InvalidInput
from faktura.core.models import AuditEntry, Company
from faktura.core.text import check_text, first_unprintable
from faktura.customers import services as customers
from faktura.customers.models import Customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments.models import WriteOff
from faktura.payments.services import write_off
from tests.invoicing.helpers import line, order

POISON = {
    "vertical tab (C0)": "Müller\u000bGmbH",
    "NUL": "Müller\u0000GmbH",
    "string terminator (C1)": "Müller\u009cGmbH",
    "right-to-left override": "Müller\u202eHbmG",
    "first strong isolate": "Müller\u2068GmbH",
    "lone surrogate": "Müller\ud800GmbH",
    "noncharacter": "Müller\ufffeGmbH",
    "private use": "Müller\ue000GmbH",
    "Ethiopic (no font)": "ሰላም",
    "line separator": "Müller\u2028GmbH",
}

NAMES = {
    "German": "Jürgen Weiß GmbH & Co. KG",
    "Turkish": "Şükrü Ağaoğlu İnşaat",
    "Polish": "Łódź Świętokrzyska",
    "Vietnamese": "Nguyễn Thị Ánh Tuyết",
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Иван Петрович Сидоров",
    "Arabic": "محمد عبد الله",
    "Hebrew": "שרה לוי",
    "Chinese": "王小明",
    "Japanese": "山田 太郎 (ヤマダ タロウ)",
    "Hangul": "홍길동",
    "joiner": "Frau Müller\u200d",
}


@pytest.mark.parametrize("value", POISON.values(), ids=POISON.keys())
def test_unprintable_text_is_refused_with_field_and_character(value):
    with pytest.raises(InvalidInput) as refused:
        check_text(value, field="name", label="Name / Firma")
    char, _why = first_unprintable(value)
    assert refused.value.code == "text_not_printable"
    assert refused.value.field == "name"
    assert f"U+{ord(char):04X}" in refused.value.message
    assert "„Name / Firma“" in refused.value.message


def test_the_message_says_what_is_wrong_with_a_bidi_override():
    with pytest.raises(InvalidInput) as refused:
        check_text("Müller\u202eHbmG", field="name", label="Name / Firma")
    assert refused.value.message == (
        "Das Zeichen U+202E (RIGHT-TO-LEFT OVERRIDE) im Feld „Name / Firma“ ist nicht "
        "erlaubt: es würde die Leserichtung des Textes umkehren."
    )


@pytest.mark.parametrize("value", NAMES.values(), ids=NAMES.keys())
def test_names_in_the_scripts_customers_have_are_accepted(value):
    check_text(value, field="name")


def test_multi_line_fields_keep_line_breaks_and_tabs_single_line_fields_do_not():
    check_text("Zeile 1\r\nZeile 2\tEnde", field="note", multiline=True)
    with pytest.raises(InvalidInput):
        check_text("Zeile 1\nZeile 2", field="name")
    with pytest.raises(InvalidInput):
        check_text("Zeile 1\u000cZeile 2", field="note", multiline=True)  # form feed


@given(st.text())
def test_accepted_text_is_always_valid_in_an_einvoice(value):
    if first_unprintable(value, multiline=True) is None:
        etree.Element("Note").text = value  # XML 1.0: raises on any forbidden character


# -- services ---------------------------------------------------------------------------

CUSTOMER = {
    "kind": "business",
    "name": "Neu GmbH",
    "street": "Weg",
    "house_number": "1",
    "postcode": "10115",
    "city": "Berlin",
    "email": "neu@example.org",
}


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["name", "street", "city", "contact_name"])
def test_create_customer_refuses_a_control_character_and_writes_nothing(company, actor, field):
    with pytest.raises(InvalidInput) as refused:
        customers.create_customer(actor=actor, **{**CUSTOMER, field: "Neu\u000bGmbH"})
    assert (refused.value.code, refused.value.field) == ("text_not_printable", field)
    assert "U+000B" in refused.value.message
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_update_customer_refuses_a_bidi_override_and_changes_nothing(business_customer, actor):
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as refused:
        customers.update_customer(
            customer_id=business_customer.pk, actor=actor, name="Beispiel \u202eGA leדnaH"
        )
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "name")
    assert Customer.objects.get(pk=business_customer.pk).name == "Beispiel Handel AG"
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_a_customer_named_in_hangul_is_accepted(company, actor):
    customer = customers.create_customer(actor=actor, **{**CUSTOMER, "name": "홍길동"})
    assert customer.name == "홍길동"


@pytest.mark.django_db
def test_a_product_with_a_c1_control_in_its_name_is_refused(company, actor):
    with pytest.raises(InvalidInput) as refused:
        catalog.create_product(
            actor=actor,
            sku="X-1",
            name="Kabel\u009c",
            unit_price="10.00",
            tax_rate="de-19",
        )
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "name")


@pytest.mark.django_db
def test_an_order_note_or_line_with_a_control_character_is_refused(business_customer, actor):
    with pytest.raises(InvalidInput) as refused:
        order(business_customer, actor, line(), note="Danke\u000b")
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "note")
    with pytest.raises(InvalidInput) as refused:
        order(business_customer, actor, line(name="Beratung\u202e"))
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "lines[0].name")
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_a_customer_saved_before_the_check_cannot_get_a_new_invoice(business_customer, actor):
    Customer.objects.filter(pk=business_customer.pk).update(name="Alt\u000bGmbH")  # legacy
    with pytest.raises(InvalidInput) as refused:
        order(business_customer, actor, line())
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "customer.name")
    assert not Invoice.objects.exists()


@pytest.fixture
def finalized_invoice(business_customer, actor):
    return invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )


@pytest.mark.django_db
def test_a_credit_note_reason_with_a_c1_control_is_refused(finalized_invoice, actor):
    with pytest.raises(InvalidInput) as refused:
        invoicing.create_credit_note(
            invoice_id=finalized_invoice.pk, actor=actor, amount="10.00", reason="Rabatt\u009c"
        )
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "reason")
    assert not Invoice.objects.filter(kind=Kind.CREDIT_NOTE).exists()


@pytest.mark.django_db
def test_a_cancellation_reason_with_a_bidi_override_is_refused(finalized_invoice, actor):
    with pytest.raises(InvalidInput) as refused:
        invoicing.cancel_invoice(
            invoice_id=finalized_invoice.pk, actor=actor, reason="\u202eFehler"
        )
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "reason")
    assert not Invoice.objects.filter(kind=Kind.CANCELLATION).exists()


@pytest.mark.django_db
def test_a_rejection_reason_with_a_control_character_is_refused(company, business_customer, actor):
    from faktura.core.actors import Actor

    company.approval_threshold = "100.00"
    company.save()
    draft = order(business_customer, actor, line())
    assert draft.status == Status.PENDING_APPROVAL
    approver = Actor(label="user:bea", user_id=None, roles=frozenset({"approver"}))
    with pytest.raises(InvalidInput) as refused:
        invoicing.reject_invoice(invoice_id=draft.pk, actor=approver, reason="Preis\u0007falsch")
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "reason")
    assert Invoice.objects.get(pk=draft.pk).status == Status.PENDING_APPROVAL


@pytest.mark.django_db
def test_a_write_off_reason_with_a_control_character_is_refused(finalized_invoice, actor):
    with pytest.raises(InvalidInput) as refused:
        write_off(invoice_id=finalized_invoice.pk, amount="0.50", reason="Rest\u001b", actor=actor)
    assert (refused.value.code, refused.value.field) == ("text_not_printable", "reason")
    assert not WriteOff.objects.exists()


@pytest.mark.django_db
def test_company_master_data_refuse_a_bidi_override(company):
    company.legal_name = "Muster \u202eHbmG"
    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert refused.value.error_dict["legal_name"][0].code == "text_not_printable"
    assert Company.objects.get().legal_name == "Muster Software GmbH"


# -- front doors ------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_shows_a_form_error_for_a_bidi_override_and_saves_nothing(staff_client, company):
    response = staff_client.post(
        reverse("admin:customers_customer_add"),
        {
            **CUSTOMER,
            "name": "Neu \u202eHbmG",
            "country": "DE",
            "language": "de",
            "preferred_payment_method": "transfer",
            "xrechnung_syntax": "cii",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert errors["name"] == [
        "Das Zeichen U+202E (RIGHT-TO-LEFT OVERRIDE) im Feld „Name / Firma“ ist nicht "
        "erlaubt: es würde die Leserichtung des Textes umkehren."
    ]
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()
