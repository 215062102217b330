"""Stammdaten, E-Mail-Vorlagen: the customer mails, whether each uses the company's own text,
and a page per mail and language to write, preview, save and reset it.

Saving and resetting go through ``notifications.template_services`` (checked, audited);
the live preview only renders the pending text with sample values (``mail_texts``) and
changes nothing. A role that may not change the texts sees them without a form, and the
service refuses a forged POST.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.notifications import mail, mail_texts
from faktura.notifications.models import MailTemplate
from faktura.notifications.template_services import (
    OPERATION,
    reset_mail_template,
    save_mail_template,
)
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt
from faktura.web.backoffice.errors import message as refusal
from faktura.web.backoffice.views.masterdata import page

# Every customer mail whose words the company may write, in the order of the list.
MAILS = {event: kind.label for event, kind in mail_texts.KINDS.items()}
LANGUAGES = {"de": _("Deutsch"), "en": _("Englisch")}
PREVIEW_SECONDS = 600
# The mail template language's syntax as the help text shows it.
SYNTAX = {
    "example": "{{ customer_name|upper }}",
    "open": "{% if due_date %}",
    "other": "{% else %}",
    "close": "{% endif %}",
}


def _checked(event: str, language: str) -> None:
    if event not in MAILS or language not in LANGUAGES:
        raise Http404


def _composed(
    event: str, language: str, own: mail_texts.MailText | None = None
) -> mail.ComposedMail:
    """The mail with sample values: with ``own`` as its text, else with the current one."""
    _checked(event, language)
    ctx = mail_texts.sample_context(event, language)
    return mail.render(event, ctx, own_texts={(event, language): own} if own else None)


@staff_view
def mail_templates(request: HttpRequest) -> HttpResponse:
    event = request.GET.get("vorlage", "invoice_issued")
    # The mails go out in the customer's language; shown first in the reader's.
    language = request.GET.get("sprache", "en" if get_language() == "en" else "de")
    composed = _composed(event, language)
    own = {(row.event, row.language): row for row in MailTemplate.objects.all()}
    rows = [
        (key, label, [(lang, own.get((key, lang))) for lang in LANGUAGES])
        for key, label in MAILS.items()
    ]
    return page(
        request,
        "mails.html",
        {
            "rows": rows,
            "mails": list(MAILS.items()),
            "languages": list(LANGUAGES.items()),
            "event": event,
            "language": language,
            "composed": composed,
            "can_change": permissions.allows(request.actor, OPERATION),  # type: ignore[attr-defined]
        },
    )


@xframe_options_sameorigin  # shown in a sandboxed frame of the pages above
@staff_view
def mail_preview(request: HttpRequest, event: str, language: str) -> HttpResponse:
    """The HTML part of the mail with sample values, shown in a sandboxed frame: with the
    current text, or with the pending one of the edit form (``?entwurf=``)."""
    _checked(event, language)
    token = request.GET.get("entwurf", "")
    if token:
        html = cache.get(_preview_key(request, event, language, token))
        if html is None:
            raise Http404
    else:
        html = _composed(event, language).html
    response = HttpResponse(html, content_type="text/html")
    response["Cache-Control"] = "no-store"
    # A mail carries its styles inline; nothing else may run or load in the preview.
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
    )
    return response


class MailTextForm(forms.Form):
    """Parses the two fields; ``mail_texts.check`` (in the service) judges them."""

    subject = forms.CharField(label=_("Betreff"), required=False, strip=False)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )

    def __init__(self, *args: Any, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # the words are the mail's, not the page's
            field.widget.attrs["lang"] = language


@staff_view
def mail_edit(request: HttpRequest, event: str, mail_language: str) -> HttpResponse:
    _checked(event, mail_language)
    actor = request.actor  # type: ignore[attr-defined]
    pending: mail_texts.MailText | None = None
    if request.method == "POST":
        form = MailTextForm(request.POST, language=mail_language)
        form.is_valid()
        subject = form.cleaned_data.get("subject", "")
        body = form.cleaned_data.get("body", "")
        if attempt(
            request,
            lambda: save_mail_template(
                actor=actor, event=event, language=mail_language, subject=subject, body=body
            ),
            gettext("Der Text ist gespeichert; neue E-Mails verwenden ihn."),
        ):
            return redirect("backoffice:md_mail_edit", event=event, mail_language=mail_language)
        pending = mail_texts.MailText(subject, body)
    saved = MailTemplate.objects.filter(event=event, language=mail_language).first()
    built_in = mail_texts.default(event, mail_language)
    current = mail_texts.MailText(saved.subject, saved.body) if saved else built_in
    if pending is None:
        form = MailTextForm(
            initial={"subject": current.subject, "body": current.body}, language=mail_language
        )
    sample = mail_texts.sample_context(event, mail_language)
    return page(
        request,
        "mail_edit.html",
        {
            "event": event,
            "label": MAILS[event],
            "mail_language": mail_language,
            "language_label": LANGUAGES[mail_language],
            "saved": saved,
            "current": current,
            "built_in": built_in,
            "form": form,
            "placeholders": [
                ("{{ " + name + " }}", label, _sample(sample, name))
                for name, label in mail_texts.placeholders(event).items()
            ],
            "filters": ", ".join(mail_texts.FILTERS),
            "syntax": SYNTAX,
            "preview": _preview(request, event, mail_language, pending),
            "live_url": reverse(
                "backoffice:md_mail_live_preview",
                kwargs={"event": event, "mail_language": mail_language},
            ),
            "can_change": permissions.allows(actor, OPERATION),
        },
    )


@require_POST
@staff_view
def mail_reset(request: HttpRequest, event: str, mail_language: str) -> HttpResponse:
    _checked(event, mail_language)
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: reset_mail_template(actor=actor, event=event, language=mail_language),
        gettext("Die E-Mail verwendet wieder den Standardtext."),
    )
    return redirect("backoffice:md_mail_edit", event=event, mail_language=mail_language)


@require_POST
@staff_view
def mail_live_preview(request: HttpRequest, event: str, mail_language: str) -> HttpResponse:
    """The edit form's pending text rendered with sample values (htmx); saves nothing."""
    _checked(event, mail_language)
    form = MailTextForm(request.POST, language=mail_language)
    form.is_valid()
    pending = mail_texts.MailText(
        form.cleaned_data.get("subject", ""), form.cleaned_data.get("body", "")
    )
    preview = _preview(request, event, mail_language, pending)
    return render(
        request,
        "backoffice/masterdata/_mail_preview.html",
        {"preview": preview, "mail_language": mail_language},
        status=422 if preview["error"] else 200,
    )


def _preview(
    request: HttpRequest, event: str, language: str, pending: mail_texts.MailText | None
) -> dict[str, Any]:
    """What the preview shows: the mail with the current text, or with ``pending`` (checked
    first: a text the service would refuse shows why instead)."""
    url = reverse("backoffice:md_mail_preview", kwargs={"event": event, "language": language})
    if pending is None:
        return {"error": "", "composed": _composed(event, language), "html_url": url}
    try:
        text = mail_texts.check(
            event=event, language=language, subject=pending.subject, body=pending.body
        )
    except DomainError as error:
        return {"error": refusal(error), "composed": None, "html_url": ""}
    composed = _composed(event, language, text)
    token = secrets.token_urlsafe(16)
    cache.set(_preview_key(request, event, language, token), composed.html, PREVIEW_SECONDS)
    return {"error": "", "composed": composed, "html_url": f"{url}?entwurf={token}"}


def _preview_key(request: HttpRequest, event: str, language: str, token: str) -> str:
    return f"mail-preview:{request.user.pk}:{event}:{language}:{token}"


def _sample(ctx: dict[str, Any], name: str) -> str:
    value: Any = ctx
    for part in name.split("."):
        value = value.get(part, "") if isinstance(value, dict) else getattr(value, part, "")
    if isinstance(value, bool):
        return gettext("ja") if value else gettext("nein")
    return str(value)
