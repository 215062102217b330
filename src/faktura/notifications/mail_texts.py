"""The company's own words in the customer mails: a subject and a message per mail and
language, written in a small template language and checked before they are saved.

What a company may change is the subject and the message between the greeting and the
fixed parts. Fixed stay what the law or the process needs: the greeting, the facts of
the HTML mail, the payment details and the SEPA pre-notification, the § 312k BGB
confirmation's data, the mandate data, the attachment and portal paragraphs, the
sign-in link, the closing and the seller's legal footer (§ 35a GmbHG, § 37a HGB). When a
company's own message replaces the built-in one, the text version lists the figures the
built-in message named (``customised`` in the templates), so no mail loses them.

The language is Django's template language cut down to what a message needs: the
placeholders each mail documents (``{{ number }}``), a few text filters and
``{% if %}``. Nothing else compiles (no ``{% load %}``, ``{% include %}``, ``{% url %}``),
so a text cannot reach data outside the values the mail itself is given. The built-in
texts (``templates/notifications/mail/<lang>/<event>.subject.txt`` and ``.body.txt``)
are written in the same language and pass the same check.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Library, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Node, TextNode, TokenType, VariableNode
from django.template.defaultfilters import register as default_filters
from django.template.defaulttags import IfNode, TemplateLiteral
from django.template.defaulttags import register as default_tags
from django.template.loader import get_template
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import InvalidInput, NotFound
from faktura.core.text import check_text

LANGUAGES = ("de", "en")
SUBJECT_MAX = 200
BODY_MAX = 5000
FILTERS = ("capfirst", "default", "lower", "title", "upper")
# The tags a text may use: conditions only.
TAGS = ("if", "elif", "else", "endif")


@dataclass(frozen=True)
class MailText:
    """A subject and a message in the mail template language."""

    subject: str
    body: str


class TemplateRefused(InvalidInput):
    """A mail text that cannot be used; ``params`` fill the back office's message."""

    def __init__(self, message: str, *, code: str, field: str, params: dict[str, Any]):
        super().__init__(message, code=code, field=field)
        self.params = params


# --- the catalogue: the mails, and the placeholders each one is given ----------------------

# Every customer mail offers these (base_context and the document mail's context).
COMMON = {
    "customer_name": _("Name des Kunden"),
    "seller.name": _("Ihr Firmenname"),
    "seller.email": _("Ihre E-Mail-Adresse"),
    "seller.phone": _("Ihre Telefonnummer"),
}
_DOCUMENT = {
    "document_title": _("Art des Dokuments (Rechnung, Rechnungskorrektur, Stornorechnung)"),
    "number": _("Nummer des Dokuments"),
    "issue_date": _("Rechnungsdatum"),
    "amount": _("Zu zahlender (bei Gutschriften: gutgeschriebener) Betrag"),
    "grand_total": _("Rechnungsbetrag brutto"),
    "due_date": _("Fälligkeitsdatum (leer, wenn sofort fällig)"),
    "preceding_number": _("Nummer der berichtigten Rechnung (Gutschrift, Storno)"),
    "preceding_date": _("Datum der berichtigten Rechnung"),
    "portal_url": _("Link ins Kundenportal (leer ohne Portal)"),
}
_CANCELLATION = {
    "submitted": _("Eingang der Kündigung (Datum und Uhrzeit)"),
    "kind": _("Art der Kündigung (ordentlich, außerordentlich)"),
    "extraordinary": _("außerordentliche Kündigung (für {% if %})"),
    "desired": _("Gewünschtes Vertragsende"),
    "reason": _("Angegebener Grund"),
    "name": _("Angegebener Name"),
    "customer_number": _("Angegebene Kundennummer"),
    "email": _("Angegebene E-Mail-Adresse"),
    "contract": _("Angaben zum Vertrag"),
}


@dataclass(frozen=True)
class Kind:
    label: Any  # a lazy German text
    placeholders: Mapping[str, Any]  # name → what it says (lazy)


KINDS: dict[str, Kind] = {
    "invoice_issued": Kind(_("Rechnung"), _DOCUMENT),
    "credit_note_issued": Kind(_("Gutschrift (Rechnungskorrektur)"), _DOCUMENT),
    "cancellation_issued": Kind(_("Stornorechnung"), _DOCUMENT),
    "payment_due_soon": Kind(
        _("Zahlungshinweis vor Fälligkeit"),
        {
            "document_title": _("Art des Dokuments"),
            "number": _("Rechnungsnummer"),
            "issue_date": _("Rechnungsdatum"),
            "due_date": _("Fälligkeitsdatum"),
            "amount": _("Offener Betrag"),
        },
    ),
    "payment_failed": Kind(
        _("Kartenzahlung fehlgeschlagen"),
        {
            "number": _("Rechnungsnummer"),
            "amount": _("Betrag"),
            "card": _("Zahlungsmethode (z. B. Karte mit Endziffern)"),
            "next_try": _("Datum des nächsten Versuchs (leer: kein weiterer)"),
            "pay_url": _("Link zum Bezahlen (leer, wenn nicht eingerichtet)"),
        },
    ),
    "direct_debit_returned": Kind(
        _("Rücklastschrift"),
        {
            "number": _("Rechnungsnummer"),
            "amount": _("Betrag der Lastschrift"),
            "fee": _("Kosten der Bank (leer, wenn keine)"),
            "reason": _("Grund der Rückgabe"),
            "reason_code": _("Rückgabecode der Bank"),
            "next_debit": _("Datum des erneuten Einzugs (leer: kein erneuter Einzug)"),
            "mandate_reference": _("Mandatsreferenz"),
        },
    ),
    "arrears_debit_announced": Kind(
        _("Vorabankündigung: Einzug von Rückständen"),
        {
            "debit_date": _("Datum der Lastschrift"),
            "total": _("Gesamtbetrag der Lastschrift"),
            "regular": _("Darin fällige Rechnungen (Betrag)"),
            "regular_numbers": _("Nummern der fälligen Rechnungen"),
            "iban": _("Konto des Kunden"),
            "mandate_reference": _("Mandatsreferenz"),
            "creditor_id": _("Gläubiger-Identifikationsnummer"),
        },
    ),
    "account_statement": Kind(
        _("Kontoauszug des Kundenkontos"),
        {
            "number": _("Kundennummer"),
            "period": _("Zeitraum"),
            "balance": _("Saldo (ohne Vorzeichen)"),
            "owes": _("Kunde schuldet etwas (für {% if %})"),
            "credit": _("Kunde hat ein Guthaben (für {% if %})"),
        },
    ),
    "portal_sign_in": Kind(
        _("Anmeldelink zum Kundenportal"),
        {
            "number": _("Kundennummer"),
            "minutes": _("Gültigkeit des Links in Minuten"),
        },
    ),
    "mandate_granted": Kind(
        _("Bestätigung des SEPA-Mandats"),
        {
            "signed": _("Datum des Mandats"),
            "reference": _("Mandatsreferenz"),
            "creditor_id": _("Gläubiger-Identifikationsnummer"),
            "debtor_name": _("Kontoinhaber"),
            "iban": _("IBAN (gekürzt)"),
            "kind": _("Art des Mandats"),
        },
    ),
    "trial_ending": Kind(
        _("Testphase endet"),
        {
            "plan": _("Tarif"),
            "about": _("Ende der Testphase"),
            "price": _("Preis"),
            "first_billing": _("Datum der ersten Abrechnung"),
        },
    ),
    "renewal_upcoming": Kind(
        _("Verlängerung steht bevor"),
        {
            "plan": _("Tarif"),
            "about": _("Datum der Verlängerung"),
            "price": _("Preis für den neuen Zeitraum"),
            "last_notice_day": _("Letzter Tag für eine Kündigung (leer: zu spät)"),
            "earliest_end": _("Frühestes Vertragsende bei Kündigung heute"),
            "notice_span": _("Kündigungsfrist"),
            "any_time": _("jederzeit kündbar (für {% if %})"),
            "consumer": _("Kunde ist Verbraucher (für {% if %})"),
        },
    ),
    "price_change": Kind(
        _("Preisänderung"),
        {
            "plan": _("Tarif"),
            "about": _("Gültig ab"),
            "old_price": _("Bisheriger Preis"),
            "new_price": _("Neuer Preis"),
            "last_day": _("Letzter Tag für Zustimmung oder Kündigung"),
            "needs_consent": _("Zustimmung nötig (für {% if %})"),
        },
    ),
    "contract_cancelled": Kind(
        _("Kündigung bestätigt (mit Vertragsende)"),
        {
            **_CANCELLATION,
            "plan": _("Tarif"),
            "contract_label": _("Bezeichnung des Vertrags"),
            "ends_on": _("Vertragsende"),
            "earlier_not_possible": _("gewünschtes Ende nicht möglich (für {% if %})"),
        },
    ),
    "cancellation_received": Kind(_("Eingang einer Kündigung bestätigt"), _CANCELLATION),
}
EVENTS = tuple(KINDS)


def kind(event: str) -> Kind:
    """The editable mail ``event``; NotFound mail_template_unknown for any other."""
    found = KINDS.get(event)
    if found is None:
        raise NotFound(f"No editable mail {event!r}.", code="mail_template_unknown")
    return found


def placeholders(event: str) -> dict[str, Any]:
    """Every placeholder the mail ``event`` fills, with what it says."""
    return {**kind(event).placeholders, **COMMON}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise NotFound(f"No mail language {language!r}.", code="mail_template_unknown")
    return language


# --- the restricted engine -----------------------------------------------------------------

_LIBRARY = Library()
_LIBRARY.tag("if", default_tags.tags["if"])
for _name in FILTERS:
    _LIBRARY.filters[_name] = default_filters.filters[_name]
_ENGINE = Engine(libraries={}, string_if_invalid="")
_ENGINE.template_builtins = [_LIBRARY]  # instead of Django's tags and filters
_ENGINE.template_libraries = {}


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _ENGINE.from_string(source)


def render_text(source: str, ctx: Mapping[str, Any]) -> str:
    """``source`` (checked, or built in) rendered as plain text with the mail's values."""
    return str(_compiled(source).render(Context(dict(ctx), autoescape=False)))


def to_html(text: str) -> SafeString:
    """A rendered message as HTML paragraphs: escaped, line breaks kept, links clickable."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text.strip()) if p.strip()]
    return mark_safe(
        "\n".join(
            '<p style="margin:0 0 16px;">'
            + "<br>".join(urlize(line, autoescape=True) for line in paragraph.split("\n"))
            + "</p>"
            for paragraph in paragraphs
        )
    )


def _refuse(field: str, code: str, message: str, **params: Any) -> TemplateRefused:
    label = _("Betreff") if field == "subject" else _("Text")
    return TemplateRefused(message, code=code, field=field, params={"field": label, **params})


def _variable_names(expression: FilterExpression, *, literal_ok: bool) -> Iterator[str | None]:
    """The placeholders an expression reads (None for a fixed value where one is not
    allowed); its filters are the engine's few (others do not compile)."""
    var = expression.var
    lookups = getattr(var, "lookups", None)
    if lookups:
        yield ".".join(lookups)
    elif not literal_ok:
        yield None
    for _func, args in expression.filters:
        for lookup, arg in args:
            if lookup:
                yield ".".join(arg.lookups or ())


def _condition_names(condition: Any) -> Iterator[str | None]:
    if condition is None:
        return
    if isinstance(condition, TemplateLiteral):
        expression: FilterExpression = condition.value  # type: ignore[assignment]
        yield from _variable_names(expression, literal_ok=True)
        return
    for part in ("first", "second"):
        yield from _condition_names(getattr(condition, part, None))


def _names(nodes: list[Node]) -> Iterator[str | None]:
    for node in nodes:
        if isinstance(node, VariableNode):
            yield from _variable_names(node.filter_expression, literal_ok=False)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                yield from _condition_names(condition)
                yield from _names(list(nodelist))
        elif not isinstance(node, TextNode):  # pragma: no cover - nothing else compiles
            raise AssertionError(f"unexpected node {type(node).__name__}")


def _compile_checked(source: str, *, field: str, allowed: set[str]) -> None:
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT and re.search(r"\{[{%#]", token.contents):
            detail = f"line {token.lineno}: {{{{, {{% or {{# without its closing }}}}, %}} or #}}"
            raise _refuse(field, "mail_template_syntax", f"{field}: {detail}", detail=detail)
        if token.token_type == TokenType.BLOCK:
            tag = (token.contents.split() or [""])[0]
            if tag not in TAGS:
                raise _refuse(
                    field,
                    "mail_template_tag",
                    f"{field}, line {token.lineno}: {{% {tag} %}} is not allowed.",
                    tag=tag,
                    line=token.lineno,
                )
    try:
        template = _compiled(source)
    except TemplateSyntaxError as error:
        detail = str(error)
        found = re.match(r"Invalid filter: '([^']*)'", detail)
        if found:
            raise _refuse(
                field,
                "mail_template_filter",
                f"{field}: unknown filter {found.group(1)}.",
                filter=found.group(1),
                allowed=", ".join(FILTERS),
            ) from None
        raise _refuse(field, "mail_template_syntax", f"{field}: {detail}", detail=detail) from None
    names = list(_names(list(template.nodelist)))
    if None in names:
        raise _refuse(
            field,
            "mail_template_literal",
            f"{field}: {{{{ }}}} must name a placeholder, not a fixed value.",
        )
    unknown = sorted({name for name in names if name is not None} - allowed)
    if unknown:
        raise _refuse(
            field,
            "mail_template_placeholder",
            f"{field}: unknown placeholder(s) {', '.join(unknown)}.",
            names=", ".join("{{ " + name + " }}" for name in unknown),
            allowed=", ".join("{{ " + name + " }}" for name in sorted(allowed)),
        )


def check(*, event: str, language: str, subject: str, body: str) -> MailText:
    """The text, normalised, if the mail ``event`` can use it; else TemplateRefused.

    Both parts must be given, short enough and printable, compile in the mail template
    language, name only the mail's placeholders and render with the sample values.
    Raises NotFound mail_template_unknown; TemplateRefused mail_template_empty,
    mail_template_too_long, mail_template_tag, mail_template_filter,
    mail_template_literal, mail_template_placeholder, mail_template_syntax,
    mail_template_render; InvalidInput text_not_printable.
    """
    allowed = set(placeholders(event))
    check_language(language)
    subject = " ".join(str(subject or "").split())
    body = "\n".join(line.rstrip() for line in str(body or "").strip().splitlines())
    for field, value, limit in (("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)):
        if not value:
            raise _refuse(field, "mail_template_empty", f"{field} must not be empty.")
        if len(value) > limit:
            raise _refuse(
                field,
                "mail_template_too_long",
                f"{field}: at most {limit} characters.",
                limit=limit,
            )
        check_text(value, field=field, multiline=field == "body")
        _compile_checked(value, field=field, allowed=allowed)
    sample = sample_context(event, language)
    for field, value in (("subject", subject), ("body", body)):
        try:
            render_text(value, sample)
        except Exception as error:  # a filter failing on a value: refuse, not crash later
            raise _refuse(
                field,
                "mail_template_render",
                f"{field} does not render: {error}",
                detail=f"{type(error).__name__}: {error}",
            ) from None
    return MailText(subject=subject, body=body)


# --- built-in and saved texts --------------------------------------------------------------


def default(event: str, language: str) -> MailText:
    """The built-in subject and message of ``event`` in ``language``."""
    kind(event)
    base = f"notifications/mail/{check_language(language)}/{event}"
    return MailText(
        subject=_source(f"{base}.subject.txt").strip(),
        body=_source(f"{base}.body.txt").strip(),
    )


def _source(name: str) -> str:
    return str(get_template(name).template.source)  # type: ignore[attr-defined]


def saved(event: str, language: str) -> MailText | None:
    """The company's own text of ``event`` in ``language``, None for the built-in one."""
    from faktura.notifications.models import MailTemplate

    row = (
        MailTemplate.objects.filter(event=event, language=language).only("subject", "body").first()
    )
    return MailText(row.subject, row.body) if row else None


def saved_all() -> dict[tuple[str, str], MailText]:
    """Every own text by (event, language): read once by a run that sends many mails."""
    from faktura.notifications.models import MailTemplate

    return {
        (row.event, row.language): MailText(row.subject, row.body)
        for row in MailTemplate.objects.only("event", "language", "subject", "body")
    }


# --- sample values: the check's rendering and the back office's preview ---------------------


def sample_context(event: str, language: str) -> dict[str, Any]:
    """Everything the mail ``event`` is given, with sample values and the company's data."""
    from faktura.core import clock
    from faktura.core.models import Company
    from faktura.documents.models import Letterhead
    from faktura.documents.pdf import texts
    from faktura.documents.samples import CONSUMER, SELLER, company_sample
    from faktura.invoicing.parties import seller_data
    from faktura.notifications import mail

    kind(event)
    lang = check_language(language)
    letterhead = Letterhead.current()
    accent = letterhead.accent_colour if letterhead else mail.DEFAULT_ACCENT
    if event in mail.EVENTS.values():
        sample = {v: k for k, v in mail.EVENTS.items()}[event]
        name = {"invoice": "standard_rate"}.get(sample, sample)
        snapshot = replace(company_sample(name), language=lang)
        return mail.context(
            snapshot,
            attachments=[f"{snapshot.number}.pdf"],
            accent=accent,
            portal_url="https://portal.example.de/dokument?t=BEISPIEL",
        )
    company = Company.objects.order_by("pk").first()
    if company is not None:
        from faktura.notifications.customer_mail import party

        seller = party(seller_data(company))
    else:
        seller = SELLER
    today = clock.today()

    def day(days: int) -> str:
        return texts.date(today + dt.timedelta(days=days), lang)

    def money(value: str) -> str:
        return texts.money(Decimal(value), "EUR", lang).replace(texts.NBSP, " ")

    de = lang == "de"
    ctx: dict[str, Any] = {
        "lang": lang,
        "accent": accent,
        "greeting": texts.party_salutation(CONSUMER, lang),
        "closing": texts.TEXT[lang]["closing"],
        "seller": seller,
        "footer": mail.seller_footer_lines(seller, lang),
        "customer_name": CONSUMER.name,
        "number": "",
    }
    cancellation = {
        "submitted": f"{day(0)} 09:30",
        "kind": "ordentliche Kündigung" if de else "ordinary notice",
        "extraordinary": False,
        "desired": "zum nächstmöglichen Zeitpunkt" if de else "at the earliest possible date",
        "reason": "",
        "name": CONSUMER.name,
        "customer_number": CONSUMER.customer_number,
        "email": CONSUMER.email,
        "contract": "",
        "document_title": "Kündigung" if de else "Notice of cancellation",
    }
    iban = texts.format_iban("DE02120300000000202051")
    values: dict[str, dict[str, Any]] = {
        "payment_due_soon": {
            "document_title": texts.TEXT[lang]["invoice"],
            "number": "RE-2026-00042",
            "issue_date": day(-11),
            "due_date": day(3),
            "amount": money("119.00"),
            "payment": "transfer",
            "account_holder": seller.name,
            "iban": iban,
            "bic": "BYLADEM1001",
            "bank_name": "Deutsche Kreditbank Berlin",
            "reference": "RE-2026-00042",
        },
        "payment_failed": {
            "document_title": "Zahlung fehlgeschlagen" if de else "Payment failed",
            "number": "RE-2026-00042",
            "amount": money("29.90"),
            "card": "Visa •••• 4242",
            "next_try": day(3),
            "pay_url": "https://zahlung.example.de/RE-2026-00042",
            "iban": iban,
            "account_holder": seller.name,
        },
        "direct_debit_returned": {
            "document_title": "Rücklastschrift" if de else "Returned direct debit",
            "number": "RE-2026-00042",
            "amount": money("29.90"),
            "fee": money("3.00"),
            "reason": "Konto gedeckt nicht" if de else "Insufficient funds",
            "reason_code": "AM04",
            "next_debit": day(7),
            "mandate_reference": "MANDAT-000017",
            "creditor_id": "DE98ZZZ09999999999",
            "iban": iban,
            "account_holder": seller.name,
        },
        "arrears_debit_announced": {
            "document_title": "Vorabankündigung" if de else "Pre-notification",
            "debit_date": day(14),
            "claims": [{"number": "RE-2026-00031", "amount": money("29.90")}],
            "costs": [
                {
                    "label": "Rücklastschriftkosten" if de else "Returned debit costs",
                    "amount": money("3.00"),
                }
            ],
            "regular": money("29.90"),
            "regular_numbers": "RE-2026-00042",
            "total": money("62.80"),
            "iban": texts.mask_iban("DE89370400440532013000"),
            "mandate_reference": "MANDAT-000017",
            "creditor_id": "DE98ZZZ09999999999",
        },
        "account_statement": {
            "number": CONSUMER.customer_number,
            "period": f"{day(-30)} – {day(0)}",
            "balance": money("59.80"),
            "owes": True,
            "credit": False,
            "attachments": [f"Kontoauszug-{CONSUMER.customer_number}.pdf"],
        },
        "portal_sign_in": {
            "number": CONSUMER.customer_number,
            "link": "https://portal.example.de/anmelden?t=BEISPIEL",
            "minutes": 15,
        },
        "mandate_granted": {
            "document_title": "SEPA-Lastschriftmandat" if de else "SEPA mandate",
            "signed": day(0),
            "reference": "MANDAT-000017",
            "creditor_id": "DE98ZZZ09999999999",
            "debtor_name": CONSUMER.name,
            "iban": texts.mask_iban("DE89370400440532013000"),
            "kind": "wiederkehrende SEPA-Basislastschrift"
            if de
            else "recurring SEPA core direct debit",
            "mandate_text": "Ich ermächtige …" if de else "I authorise …",
        },
        "trial_ending": {
            "document_title": "Testphase" if de else "Trial",
            "plan": "Profi",
            "about": day(7),
            "price": f"{money('29.90')} {'je Monat' if de else 'per month'}",
            "first_billing": day(8),
        },
        "renewal_upcoming": {
            "document_title": "Verlängerung" if de else "Renewal",
            "plan": "Profi",
            "about": day(30),
            "price": f"{money('299.00')} {'je Jahr' if de else 'per year'}",
            "last_notice_day": day(14),
            "earliest_end": "",
            "any_time": False,
            "consumer": True,
            "notice_span": "einem Monat" if de else "one month",
        },
        "price_change": {
            "document_title": "Preisänderung" if de else "Price change",
            "plan": "Profi",
            "about": day(45),
            "old_price": f"{money('29.90')} {'je Monat' if de else 'per month'}",
            "new_price": f"{money('34.90')} {'je Monat' if de else 'per month'}",
            "last_day": day(44),
            "needs_consent": False,
            "late": False,
        },
        "contract_cancelled": {
            **cancellation,
            "plan": "Profi",
            "contract_label": "Profi (seit 01.01.2026)" if de else "Profi (since 1 January 2026)",
            "ends_on": day(45),
            "earlier_not_possible": False,
        },
        "cancellation_received": cancellation,
    }
    return ctx | values[event]
