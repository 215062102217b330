"""The back office, crawled: every page of the URL resolver, as every role, in German and
in English. No server error; English pages speak English; no role is offered an action
(a POST form, or a link to a page that exists only for an action) that the permission
matrix refuses it.

The pages come from tests/web/site_map.py, so a screen added later is crawled without a
change here, once its path parameters have samples there. Its URL name must also get a
row below (ACTIONS or READ_ONLY): a form posting to a URL without a row fails the crawl.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import Resolver404, resolve

from faktura.core import permissions
from faktura.core.actors import Actor
from tests.web import site_map

LANGUAGES = ("de", "en")
ROLES = ("admin", "accountant", "approver", "cashier", "viewer")

# What a POST to each URL does: the operation the service behind it requires, or the one
# the page hides the form by (None: anyone signed in may). Keep it complete: every
# back-office URL name is either here or in READ_ONLY.
ACTIONS: dict[str, str | None] = {
    "backoffice:invoice_new": "invoice.create_draft",
    "backoffice:invoices_bulk": None,  # ZIP of the PDFs for all; each action's button hidden
    "backoffice:invoice_approve": "invoice.approve",
    "backoffice:invoice_reject": "invoice.approve",
    "backoffice:invoice_finalize": "invoice.finalize",
    "backoffice:invoice_resend": "invoice.send",
    "backoffice:invoice_cancel": "invoice.correct",
    "backoffice:invoice_credit": "invoice.correct",
    "backoffice:invoice_write_off": "payment.write_off",
    "backoffice:invoice_payment": "payment.record",
    "backoffice:invoice_discard": "invoice.discard",
    "backoffice:invoice_credit_apply": "payment.record",
    "backoffice:allocation_release": "payment.release_allocation",
    "backoffice:customer_credit_apply": "payment.record",
    "backoffice:customer_statement_send": "account_statement.send",
    "backoffice:customer_mandate_new": "mandate.change",
    "backoffice:mandate_revoke": "mandate.change",
    "backoffice:mandate_unusable": "mandate.change",
    "backoffice:invoice_dunning_fee": "dunning.fee",
    "backoffice:print_batch_create": "print_batch.create",
    "backoffice:inbox_action": None,  # per action: see PER_ITEM
    "backoffice:customer_create": "customer.create",
    "backoffice:customer_edit": "customer.change",
    "backoffice:customer_access_override": "access.manage",
    "backoffice:customer_access_override_end": "access.manage",
    "backoffice:subscription_change": "subscription.manage",
    "backoffice:subscription_pause": "subscription.manage",
    "backoffice:subscription_resume": "subscription.manage",
    "backoffice:subscription_cancel": "subscription.manage",
    "backoffice:subscription_terminate": "subscription.manage",
    "backoffice:payment_allocate": "payment.record",
    "backoffice:payment_refund": "refund.request",
    "backoffice:payment_request_confirm": "payment.confirm",
    "backoffice:payment_request_reject": "payment.confirm",
    "backoffice:refund_approve": "refund.approve",
    "backoffice:refund_reject": "refund.approve",
    "backoffice:refund_batches": "refund_batch.create",
    "backoffice:refund_batch_release": "refund.approve",
    "backoffice:refund_batch_discard": "refund_batch.create",
    "backoffice:dunning_proposals": "dunning.approve",
    "backoffice:dunning_run": "dunning.run",
    "backoffice:dunning_block": "customer.change",
    "backoffice:collection_approve": "collection.approve",
    "backoffice:collection_close": "collection.approve",
    "backoffice:collection_export": "collection.export",
    "backoffice:collection_payment": "collection.export",
    "backoffice:instalment_start": "dunning.instalments",  # GET: the customer number → form
    "backoffice:instalment_new": "dunning.instalments",
    "backoffice:instalment_cancel": "dunning.instalments",
    "backoffice:dunning_fee_waive": "dunning.fee",
    "backoffice:bank": "statement.import",
    "backoffice:bank_line": "bank_transaction.assign",
    "backoffice:direct_debits": "direct_debit.create",
    "backoffice:direct_debit_submit": "direct_debit.create",
    "backoffice:direct_debit_discard": "direct_debit.create",
    "backoffice:md_company": "master_data.change",
    "backoffice:md_letterhead": "master_data.change",
    "backoffice:md_numbers": "master_data.change",
    "backoffice:md_settings": "master_data.change",
    "backoffice:md_dunning": "master_data.change",
    "backoffice:md_mail_edit": "mail_template.change",
    "backoffice:md_mail_reset": "mail_template.change",
    "backoffice:md_product_create": "product.create",
    "backoffice:md_product": "product.change",
    "backoffice:md_users": "user.manage",
    "backoffice:md_user_roles": "user.manage",
    "backoffice:md_user_deactivate": "user.manage",
    "backoffice:md_api_keys": "api_key.manage",
    "backoffice:md_api_key_revoke": "api_key.manage",
    "backoffice:md_webhooks": "webhook.manage",
    "backoffice:md_webhook_switch": "webhook.manage",
    "backoffice:login": None,
    # Everyone sets up and enters their own second factor.
    "backoffice:two_factor": None,
    "backoffice:backup_codes": "two_factor.enrol",  # GET goes back to the set-up page
    "backoffice:verify": None,
    "backoffice:logout": None,
    "set_language": None,
}


def _inbox_operation(kwargs: dict[str, Any]) -> str | None:
    from faktura.web.backoffice.views.inbox import BY_KEY

    action = BY_KEY.get((kwargs["source"], kwargs["action"]))
    return action.operation if action else None


# URLs whose operation depends on the path (url name → operation from its kwargs).
PER_ITEM: dict[str, Any] = {"backoffice:inbox_action": _inbox_operation}
# Pages that exist only to do one action: a link to them is an action button.
ACTION_PAGES = {
    "backoffice:invoice_new",
    "backoffice:invoice_cancel",
    "backoffice:invoice_credit",
    "backoffice:invoice_write_off",
    "backoffice:invoice_payment",
    "backoffice:invoice_discard",
    "backoffice:allocation_release",
    "backoffice:customer_mandate_new",
    "backoffice:mandate_revoke",
    "backoffice:mandate_unusable",
    "backoffice:customer_create",
    "backoffice:customer_edit",
    "backoffice:subscription_cancel",
    "backoffice:subscription_terminate",
    "backoffice:payment_allocate",
    "backoffice:payment_refund",
    "backoffice:instalment_start",
    "backoffice:instalment_new",
    "backoffice:md_product_create",
}
# Pages that only show: no POST form may point at them.
READ_ONLY = {
    "backoffice:start",
    "backoffice:inbox",
    "backoffice:search",
    "backoffice:invoices",
    "backoffice:invoices_csv",
    "backoffice:invoice",
    "backoffice:invoice_pdf",
    "backoffice:invoice_xml",
    "backoffice:print_batches",
    "backoffice:print_batch",
    "backoffice:print_batch_pdf",
    "backoffice:customers",
    "backoffice:customer",
    "backoffice:subscriptions",
    "backoffice:plans",
    "backoffice:subscription",
    "backoffice:payments",
    "backoffice:returns",
    "backoffice:payment",
    "backoffice:refund_batch",
    "backoffice:refund_batch_xml",
    "backoffice:dunning",
    "backoffice:dunning_notices",
    "backoffice:dunning_letter",
    "backoffice:dunning_notice",
    "backoffice:instalment_agreement",
    "backoffice:collection_case",
    "backoffice:collection_export_file",
    "backoffice:bank_import",
    "backoffice:direct_debit",
    "backoffice:direct_debit_xml",
    "backoffice:reports",
    "backoffice:report",
    "backoffice:report_file",
    "backoffice:masterdata",
    "backoffice:md_letterhead_preview",  # POST too, but only a preview of the form's data
    "backoffice:md_mails",
    "backoffice:md_products",
    "backoffice:md_mail_preview",
    "backoffice:md_mail_live_preview",  # POST, but only a preview of the form's text
}

# Common words of the German UI; a text on an English page made of one of these (or
# with an umlaut or ß) was not translated. Words that are English too (Name, Status,
# Start, Bank, Tag, Art) are left out on purpose.
_WORDS = """
    abbrechen abgelehnt abmelden aktion aktionen alle anmelden anschrift anzahl anzeigen
    aufgabe aufgaben ausgebucht bearbeiten benutzername berichte betrag bezahlt bezeichnung
    bis brutto buchung buchungen buchungstag datum der des die das dokument eingang
    einlesen einzelpreis einzug entwurf erfassen erneut festschreiben festgeschrieben
    filtern freigabe freigaben freigeben gebucht gesperrt grund gutschrift hauptnavigation
    ignorieren ignoriert inhalt jetzt kein keine kennzahlen kontoauszug korrekturen kunde
    kunden mahnung mahnungen menge monat netto nicht noch nummer offen offene passwort
    positionen rechnung rechnungen rechnungsdatum rechnungsnummer saldo seite seit springen
    stammdaten stornieren storniert stornorechnung stufe suche suchen summe tage umsatz
    umsatzsteuer und unterschrieben verlauf verwaltung verwendungszweck vom von vorschau
    vorschläge weiter zahlung zahlungen zahlungsart zeitraum zu zugang zum zuordnen zur
    zurück zurückgebucht
"""
GERMAN_WORDS = frozenset(_WORDS.split())
GERMAN_LETTERS = re.compile("[äöüÄÖÜß]")
WORD = re.compile(r"[^\W\d_]+")
TEXT_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


@dataclass
class Page:
    """What a crawled HTML page shows: its text and the actions it offers."""

    lang: str = ""
    texts: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)  # form actions ("" = the page itself)
    links: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._stack: list[tuple[str, bool]] = []  # (tag, shown in another language/hidden)

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.page.lang = values.get("lang", "")
        elif tag == "form" and values.get("method", "get").lower() == "post":
            self.page.posts.append(values.get("action", ""))
        elif tag == "a" and values.get("href"):
            self.page.links.append(values["href"])
        # The language switch names the other language in that language (lang="de").
        other_language = bool(values.get("lang")) and tag != "html"
        if tag not in {"input", "img", "br", "meta", "link", "hr", "source"}:
            self._stack.append((tag, tag in self.HIDDEN or other_language))
        if not self._skipping() and not other_language:
            for name in TEXT_ATTRIBUTES:
                if values.get(name, "").strip():
                    self.page.texts.append(values[name].strip())

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping():
            self.page.texts.append(text)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return reader.page


def _client(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def _operation(url: str, page_path: str) -> tuple[str | None, str | None]:
    """(url name, the operation a POST to it needs) of a URL on the page at page_path."""
    path = urlsplit(url).path or page_path
    try:
        match = resolve(path)
    except Resolver404:
        return None, None
    name = match.view_name
    if name in PER_ITEM:
        return name, PER_ITEM[name](match.kwargs)
    return name, ACTIONS.get(name)


def offered_actions_not_allowed(role: str, path: str, page: Page) -> list[str]:
    """Actions on the page the role may not use, and forms posting to an unknown URL."""
    actor = Actor(label=f"user:{role}", roles=frozenset({role}))
    found = []
    for target in page.posts:
        name, operation = _operation(target, path)
        if name not in ACTIONS:
            found.append(f"form posts to {target or path} ({name}): no row in ACTIONS")
        elif operation and not permissions.allows(actor, operation):
            found.append(f"form to {name} ({operation})")
    for href in page.links:
        if not href.startswith("/"):
            continue
        name, operation = _operation(href, path)
        if name in ACTION_PAGES and not permissions.allows(actor, operation or ""):
            found.append(f"link to {name} ({operation})")
    return found


@pytest.fixture
def site(business_customer, consumer, actor):
    samples = site_map.make_samples(business_customer, consumer, actor)
    return site_map.urls(samples)


def test_every_back_office_pattern_can_be_crawled_and_is_classified():
    patterns = site_map.backoffice_patterns()
    names = {p.name for p in patterns}
    assert {"backoffice:start", "backoffice:invoice", "backoffice:bank_line"} <= names
    assert site_map.unfillable(patterns) == []
    assert set(site_map.NOT_CRAWLED) <= names, "NOT_CRAWLED names a pattern that is gone"
    unclassified = sorted(names - set(ACTIONS) - READ_ONLY)
    assert unclassified == [], f"give these URL names a row in ACTIONS or READ_ONLY: {unclassified}"
    assert not (set(ACTIONS) & READ_ONLY)
    assert set(ACTIONS) >= ACTION_PAGES
    assert set(PER_ITEM) <= set(ACTIONS)
    for operation in ACTIONS.values():
        assert operation is None or operation in permissions.MATRIX


def test_the_reader_sees_what_a_person_sees():
    page = read(
        '<html lang="en"><body><nav aria-label="Hauptnavigation"><a href="/rechnungen/">'
        "Invoices</a></nav><script>var x = 'Rechnung';</script>"
        '<form method="post" action="/i18n/setlang/"><button lang="de">Deutsch</button></form>'
        '<form method="post"><input placeholder="Grund"><button>Ablehnen</button></form>'
        "<form><button>Suchen</button></form></body></html>"
    )
    assert page.lang == "en"
    assert page.texts == ["Hauptnavigation", "Invoices", "Grund", "Ablehnen", "Suchen"]
    assert page.posts == ["/i18n/setlang/", ""]
    assert page.links == ["/rechnungen/"]
    viewer = offered_actions_not_allowed(
        "viewer", "/rechnungen/1/stornieren", read('<form method="post"></form>')
    )
    assert viewer == ["form to backoffice:invoice_cancel (invoice.correct)"]
    assert offered_actions_not_allowed(
        "viewer", "/", read('<a href="/rechnungen/1/zahlung">Zahlung erfassen</a>')
    ) == ["link to backoffice:invoice_payment (payment.record)"]
    cashier = offered_actions_not_allowed(
        "cashier",
        "/aufgaben/",
        read(
            '<form method="post" action="/aufgaben/approvals/1/approve"></form>'
            '<form method="post" action="/aufgaben/dunning_entries/2/done"></form>'
        ),
    )
    assert cashier == ["form to backoffice:inbox_action (invoice.approve)"]
    assert offered_actions_not_allowed(
        "admin", "/", read('<form method="post" action="/kunden/"></form>')
    ) == ["form posts to /kunden/ (backoffice:customers): no row in ACTIONS"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_both_languages_answers_without_offering_a_forbidden_action(site, role):
    user = site_map.role_users()[role]
    failures: list[str] = []
    for language in LANGUAGES:
        client = _client(user, language)
        for _name, path in site:
            try:
                response = client.get(path)
            except Exception as error:  # a server error, raised by the test client
                failures.append(f"{language} {path}: {type(error).__name__}: {error}")
                continue
            if response.status_code >= 500:
                failures.append(f"{language} {path}: {response.status_code}")
                continue
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            page = read(response.content.decode())
            # A page about a language (a mail's preview) speaks that one.
            expected = resolve(path).kwargs.get("language", language)
            if response.status_code == 200 and page.lang != expected:
                failures.append(f"{language} {path}: <html lang={page.lang!r}>")
            failures.extend(
                f"{language} {path}: {problem}"
                for problem in offered_actions_not_allowed(role, path, page)
            )
    assert len(site) > 50
    assert not failures, f"as {role}:\n" + "\n".join(failures)


def _data_strings() -> list[str]:
    """Free text of the rows (names, addresses, remittance texts): data, not UI."""
    found: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith(("faktura.", "django.contrib.auth")):
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            # as the reader shows them: whitespace (a textarea's line breaks) made one space
            found.update(
                " ".join(str(value).split()) for value in row if value and str(value).strip()
            )
    return sorted(found, key=len, reverse=True)


def looks_german(text: str, data: list[str]) -> bool:
    for value in data:
        if len(value) > 2:
            text = text.replace(value, " ")
    return bool(GERMAN_LETTERS.search(text)) or any(
        word.casefold() in GERMAN_WORDS for word in WORD.findall(text)
    )


def test_looks_german_ignores_data_and_english():
    data = ["Beispiel Handel AG", "Hafenstraße"]
    assert looks_german("Offene Forderungen", data)
    assert looks_german("Davon überfällig", data)
    assert not looks_german("Open receivables", data)
    assert not looks_german("Beispiel Handel AG (K-00001)", data)
    assert not looks_german("Hafenstraße 5, 20457 Hamburg", data)
    assert not looks_german("1.234,56 € · 16.11.2026", data)


@pytest.mark.django_db
def test_english_pages_show_no_untranslated_german(site):
    admin = site_map.role_users()["admin"]  # sees every action and section
    german, english = _client(admin, "de"), _client(admin, "en")
    data = _data_strings()
    untranslated: dict[str, set[str]] = defaultdict(set)
    for _name, path in site:
        if resolve(path).kwargs.get("language", "en") != "en":
            continue  # a page about another language (the German mail's preview)
        de, en = german.get(path), english.get(path)
        if en.status_code != 200 or not en.get("Content-Type", "").startswith("text/html"):
            continue
        shown_in_german = set(read(de.content.decode()).texts)
        for text in read(en.content.decode()).texts:
            if text in shown_in_german and looks_german(text, data):
                untranslated[text].add(path)
    report: list[Any] = [f"{text!r} on {sorted(paths)[0]}" for text, paths in untranslated.items()]
    assert not report, f"{len(report)} German texts on English pages:\n" + "\n".join(report)
