"""Stammdaten, E-Mail-Vorlagen: the list shows which mails use the company's own text; the
edit page lists the placeholders, previews live with sample values, saves and resets for
the roles that may, shows the text read-only to the others, and a forged POST changes
nothing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.notifications import mail_texts
from faktura.notifications.models import MailTemplate

pytestmark = pytest.mark.django_db

EDIT = "/stammdaten/e-mail-vorlagen/invoice_issued/de/"
SUBJECT = "Ihre Rechnung {{ number }}"
BODY = "Hallo {{ customer_name }},\n\nanbei Rechnung {{ number }} über {{ amount }}."
HTMX = {"HX-Request": "true"}


def _client(client, role: str):
    user = User.objects.create_user(f"person-{role}", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "accountant")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def post_forms(page: str) -> list[str]:
    """The actions of the page's POST forms, but the header's (language, sign-out)."""
    actions = re.findall(r'<form method="post"(?: action="([^"]*)")?', page)
    return [a for a in actions if a not in ("/i18n/setlang/", "/logout/")]


def own_text(actor_label: str = "user:anna") -> MailTemplate:
    import datetime as dt

    return MailTemplate.objects.create(
        event="invoice_issued",
        language="de",
        subject=SUBJECT,
        body=BODY,
        changed_at=dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC),
        changed_by=actor_label,
    )


def test_the_list_shows_every_mail_and_which_use_an_own_text(accountant):
    own_text()
    page = accountant.get("/stammdaten/e-mail-vorlagen/").content.decode()
    for event in mail_texts.EVENTS:
        assert f'data-mail="{event}"' in page
        assert f'href="/stammdaten/e-mail-vorlagen/{event}/en/"' in page
    row = page.split('data-mail="invoice_issued"')[1].split("</tr>")[0]
    german, english = row.split('data-language="de"')[1].split('data-language="en"')
    assert "Eigener Text" in german
    assert "geändert am 16.11.2026" in german
    assert "Standardtext" in english
    assert page.count("Eigener Text") == 1
    # The dunning notices' texts live per level in the dunning policy.
    assert 'href="/stammdaten/mahnrichtlinie/"' in page


@pytest.mark.parametrize(
    ("role", "may_change"),
    [
        ("admin", True),
        ("accountant", True),
        ("approver", False),
        ("cashier", False),
        ("viewer", False),
    ],
)
def test_the_page_offers_the_form_only_to_roles_that_may_change_the_texts(
    client, company, role, may_change
):
    own_text()
    page = _client(client, role).get(EDIT).content.decode()
    assert "Eigener Text, geändert am 16.11.2026 von user:anna." in page
    assert "<code>{{ customer_name }}</code></td><td>Name des Kunden</td>" in page
    assert "<code>{{ due_date }}</code></td><td>Fälligkeitsdatum (leer, wenn sofort fällig)" in page
    assert "<p data-subject>Ihre Rechnung RE-" in page  # the preview, with the own text
    if may_change:
        assert post_forms(page) == ["", "/stammdaten/e-mail-vorlagen/invoice_issued/de/standard"]
        assert 'name="subject"' in page
        assert "Standard wiederherstellen" in page
        assert 'hx-post="/stammdaten/e-mail-vorlagen/invoice_issued/de/vorschau"' in page
    else:
        assert post_forms(page) == []
        assert 'name="subject"' not in page
        assert "Standard wiederherstellen" not in page
        assert "Hallo {{ customer_name }}," in page  # the text, read-only


def test_the_accountant_saves_an_own_text_and_the_page_shows_it(accountant):
    page = accountant.get(EDIT).content.decode()
    built_in = mail_texts.default("invoice_issued", "de")
    assert built_in.body in page  # the built-in text to start from
    assert "Diese E-Mail verwendet den Standardtext." in page
    assert "Standard wiederherstellen" not in page
    response = accountant.post(EDIT, {"subject": SUBJECT, "body": BODY}, follow=True)
    assert messages_of(response) == ["Der Text ist gespeichert; neue E-Mails verwenden ihn."]
    row = MailTemplate.objects.get()
    assert (row.subject, row.body, row.changed_by) == (SUBJECT, BODY, "user:person-accountant")
    page = response.content.decode()
    assert "Eigener Text, geändert am 16.11.2026" in page
    assert "Standard wiederherstellen" in page
    assert AuditEntry.objects.filter(action="mail_template.saved").count() == 1


def test_a_refused_text_shows_why_keeps_the_input_and_changes_nothing(accountant):
    response = accountant.post(
        EDIT, {"subject": SUBJECT, "body": "Bitte zahlen Sie {{ betrag }}."}, follow=True
    )
    [message] = messages_of(response)
    assert message.startswith("Text: {{ betrag }} kennt diese E-Mail nicht. Möglich sind:")
    assert "{{ amount }}" in message
    page = response.content.decode()
    assert "Bitte zahlen Sie {{ betrag }}." in page  # the form keeps what was typed
    response = accountant.post(EDIT, {"subject": SUBJECT, "body": "{% load static %}"})
    assert messages_of(response) == [
        "Text, Zeile 1: {% load %} ist in E-Mail-Vorlagen nicht erlaubt. Erlaubt sind "
        "Platzhalter wie {{ number }}, einige Filter und {% if %} … {% endif %}."
    ]
    assert MailTemplate.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="mail_template.").exists()


@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_a_forged_post_of_another_role_changes_nothing(client, company, role):
    own_text()
    staff = _client(client, role)
    response = staff.post(EDIT, {"subject": "Gefälscht", "body": "Gefälscht"}, follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    response = staff.post(f"{EDIT}standard", follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    row = MailTemplate.objects.get()
    assert (row.subject, row.body) == (SUBJECT, BODY)
    assert not AuditEntry.objects.filter(action__startswith="mail_template.").exists()


def test_restoring_the_standard_removes_the_own_text(accountant):
    own_text()
    response = accountant.post(f"{EDIT}standard", follow=True)
    assert messages_of(response) == ["Die E-Mail verwendet wieder den Standardtext."]
    assert MailTemplate.objects.count() == 0
    assert "Diese E-Mail verwendet den Standardtext." in response.content.decode()
    again = accountant.post(f"{EDIT}standard", follow=True)
    assert messages_of(again) == ["Diese E-Mail verwendet bereits den Standardtext."]
    assert accountant.get(f"{EDIT}standard").status_code == 405


def test_the_live_preview_renders_the_pending_text_with_sample_values(accountant):
    response = accountant.post(f"{EDIT}vorschau", {"subject": SUBJECT, "body": BODY}, headers=HTMX)
    assert response.status_code == 200
    part = response.content.decode()
    assert "<html" not in part  # only the preview's part of the page
    assert "Ihre Rechnung RE-2026-" in part
    assert "Hallo Beispiel Handel AG," in part
    [frame] = re.findall(r'<iframe class="mail" sandbox src="([^"]+)"', part)
    assert "?entwurf=" in frame
    html = accountant.get(frame.replace("&amp;", "&"))
    assert html["Content-Security-Policy"].startswith("default-src 'none'")
    assert '<p style="margin:0 0 16px;">Hallo Beispiel Handel AG,</p>' in html.content.decode()
    assert MailTemplate.objects.count() == 0  # a preview saves nothing

    refused = accountant.post(
        f"{EDIT}vorschau", {"subject": SUBJECT, "body": "{{ amount"}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "Text ist keine gültige Vorlage" in refused.content.decode()
    assert accountant.get(f"{EDIT}vorschau").status_code == 405
    assert accountant.get(frame.split("?")[0] + "?entwurf=unbekannt").status_code == 404


@pytest.mark.parametrize("language", mail_texts.LANGUAGES)
def test_every_mails_page_answers_in_both_ui_languages(accountant, language):
    for ui in ("de", "en"):
        for event in mail_texts.EVENTS:
            response = accountant.get(
                f"/stammdaten/e-mail-vorlagen/{event}/{language}/", headers={"accept-language": ui}
            )
            assert response.status_code == 200, (ui, event)
            page = response.content.decode()
            assert f'<textarea name="body" cols="40" rows="12" lang="{language}"' in page
    assert accountant.get("/stammdaten/e-mail-vorlagen/staff_digest/de/").status_code == 404
    assert accountant.get("/stammdaten/e-mail-vorlagen/invoice_issued/fr/").status_code == 404


def test_the_english_page_speaks_english_around_the_german_mail(client, company):
    own_text()
    staff = _client(client, "accountant")
    page = staff.get(EDIT, headers={"accept-language": "en"}).content.decode()
    assert '<html lang="en">' in page
    assert "Own text, changed on 16 November 2026 by user:anna." in page
    assert '<td>Customer&#x27;s name</td><td lang="de">' in page
    assert "Restore default" in page
    assert '<textarea name="body" cols="40" rows="12" lang="de"' in page  # the mail's words
