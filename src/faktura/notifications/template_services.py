"""Save or reset the company's own text of a customer mail (Stammdaten, E-Mail-Vorlagen).

A text is checked completely before anything is written (``mail_texts.check``): it
compiles in the mail template language, names only the mail's placeholders and renders
with sample values; otherwise it is refused and nothing changes. Each change is audited
in the company's chain with the text before and after. Mails queued afterwards use the
new text; mails already queued keep theirs (they are composed when queued).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import StateConflict
from faktura.notifications import mail_texts
from faktura.notifications.models import MailTemplate

OPERATION = "mail_template.change"


def save_mail_template(
    *, actor: Actor, event: str, language: str, subject: str, body: str
) -> MailTemplate:
    """Save the company's own subject and message of mail ``event`` in ``language``.

    Raises PermissionRefused; NotFound mail_template_unknown; TemplateRefused (see
    ``mail_texts.check``); InvalidInput text_not_printable.
    """
    permissions.require(actor, OPERATION)
    text = mail_texts.check(event=event, language=language, subject=subject, body=body)
    with transaction.atomic():
        row = (
            MailTemplate.objects.select_for_update().filter(event=event, language=language).first()
        )
        before = {"subject": row.subject, "body": row.body} if row is not None else None
        values = {
            "subject": text.subject,
            "body": text.body,
            "changed_at": clock.now(),
            "changed_by": actor.label,
        }
        if row is None:
            try:
                with transaction.atomic():  # a second first save meanwhile: update that one
                    row = MailTemplate.objects.create(event=event, language=language, **values)
            except IntegrityError:
                row = MailTemplate.objects.select_for_update().get(event=event, language=language)
                before = {"subject": row.subject, "body": row.body}
        if before is not None:
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=list(values))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="mail_template.saved",
            object_type="mail_template",
            object_id=f"{event}:{language}",
            data={
                "event": event,
                "language": language,
                "before": before,
                "after": {"subject": text.subject, "body": text.body},
            },
        )
    return row


def reset_mail_template(*, actor: Actor, event: str, language: str) -> None:
    """Go back to the built-in text of mail ``event`` in ``language`` (the own text is removed,
    and kept in the audit entry).

    Raises PermissionRefused; NotFound mail_template_unknown; StateConflict
    mail_template_is_default when the mail has no own text.
    """
    permissions.require(actor, OPERATION)
    mail_texts.kind(event)
    mail_texts.check_language(language)
    with transaction.atomic():
        row = (
            MailTemplate.objects.select_for_update().filter(event=event, language=language).first()
        )
        if row is None:
            raise StateConflict(
                f"The mail {event} ({language}) uses the built-in text already.",
                code="mail_template_is_default",
            )
        before = {"subject": row.subject, "body": row.body}
        row.delete()
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="mail_template.reset",
            object_type="mail_template",
            object_id=f"{event}:{language}",
            data={"event": event, "language": language, "before": before},
        )
