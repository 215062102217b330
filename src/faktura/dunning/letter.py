"""The dunning letter: a Typst PDF/A of a sent notice, archived once and mailed with it.

Flow (crash-safe, nothing twice):

1. The run (or approving a proposal) marks the notice sent in its transaction, with the
   access change and the webhook, and enqueues ``deliver_notice_letters`` there (the task
   row commits with the notice, like the invoices' rendering task). No mail yet.
2. The task renders the letter outside any transaction (``render_letter``), writes the
   file once under a deterministic name, fsynced, never over an existing file
   (``documents.archive._store``), then in one short transaction under the customer's lock
   inserts the ``NoticeLetter`` row with its SHA-256 (one per notice), audits it
   (``dunning_letter.archived``) and queues the notice's mail with the letter attached.
3. Every step checks what is done already: a notice with a letter is not rendered again,
   a notice with a mail gets no second one. A task lost in a crash is found by
   ``resume_letters`` (the document sweep): sent notices without a mail whose customer has
   an address.

``faktura check`` compares every letter's file with its row and its audit entry
(``letter_problems``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from string import Template
from typing import Any

from django.db import IntegrityError, transaction

from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.core.models import BankAccount, Company
from faktura.customers.models import Customer
from faktura.documents.archive import _file_digest, _store
from faktura.documents.models import archive_storage, retention_until, safe_filename
from faktura.documents.pdf import texts
from faktura.documents.pdf.letterhead import DEFAULT_LETTERHEAD, Letterhead
from faktura.documents.pdf.qr import epc_payload, epc_qr_svg
from faktura.documents.pdf.render import (
    _compile,
    _letterhead,
    _pdf_backgrounds,
    _underlay,
    company_footer,
)
from faktura.dunning.models import (
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    NoticeLetter,
)

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent.parent / "documents/pdf/templates/dunning_letter.typ"
SYSTEM_ACTOR = Actor.system("dunning-letter")
ATTACHMENT_PREFIX = "dunning_letter:"

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "customer_number": "Kundennummer",
        "date": "Datum",
        "notice": "Mahnung vom",
        "salutation": "Guten Tag {name},",
        "invoice": "Rechnung",
        "issue_date": "Datum",
        "due_date": "Fällig am",
        "original": "Betrag",
        "paid": "Gezahlt",
        "open": "Offen",
        "principal": "Offene Rechnungsbeträge",
        "fees": "Mahngebühren und Pauschalen",
        "interest": "Verzugszinsen",
        "return_fees": "Rücklastschriftkosten",
        "total": "Gesamtbetrag",
        "interest_basis": "Berechnung der Verzugszinsen (§ 288 BGB, Tage × Zinssatz p. a. / 365)",
        "interest_row": "{invoice}: {start} – {end}, {days} Tage × {rate} auf {principal}",
        "fee_rows": "Gebühren",
        "deadline": "Bitte überweisen Sie den Gesamtbetrag von {total} bis zum {deadline} "
        "unter Angabe der Mahnung {reference}.",
        "account_holder": "Kontoinhaber",
        "bank": "Bank",
        "qr_caption": "Mit der Banking-App|scannen und bezahlen",
        "qr_alt": "QR-Code für die Überweisung (GiroCode) mit Empfänger, IBAN, Betrag und "
        "Verwendungszweck",
        "dispute": "Sollten Sie inzwischen gezahlt haben, betrachten Sie dieses Schreiben als "
        "gegenstandslos. Fragen oder Einwände zu dieser Forderung richten Sie bitte an {contact}.",
        "closing": "Mit freundlichen Grüßen",
        "page": "Seite",
        "page_of": "von",
    },
    "en": {
        "customer_number": "Customer number",
        "date": "Date",
        "notice": "Notice of",
        "salutation": "Dear {name},",
        "invoice": "Invoice",
        "issue_date": "Date",
        "due_date": "Due",
        "original": "Amount",
        "paid": "Paid",
        "open": "Open",
        "principal": "Open invoice amounts",
        "fees": "Dunning fees and flat fees",
        "interest": "Default interest",
        "return_fees": "Returned debit costs",
        "total": "Total",
        "interest_basis": "Default interest (§ 288 BGB, days × yearly rate / 365)",
        "interest_row": "{invoice}: {start} – {end}, {days} days × {rate} on {principal}",
        "fee_rows": "Fees",
        "deadline": "Please transfer the total of {total} by {deadline}, quoting notice "
        "{reference}.",
        "account_holder": "Account holder",
        "bank": "Bank",
        "qr_caption": "Scan with your|banking app to pay",
        "qr_alt": "EPC QR code for the bank transfer with payee, IBAN, amount and reference",
        "dispute": "If you have paid in the meantime, please disregard this letter. Please "
        "address questions or objections concerning this claim to {contact}.",
        "closing": "Kind regards",
        "page": "Page",
        "page_of": "of",
    },
}


def reference(notice: DunningNotice) -> str:
    """The notice's reference on the letter, in the QR code and in the file name."""
    return notice.reference


def archive_name(notice: DunningNotice) -> str:
    return f"archive/{notice.notice_date:%Y}/dunning/{safe_filename(reference(notice), 'pdf')}"


# --------------------------------------------------------------------------- rendering


def _intro(level_text: str, values: dict[str, str]) -> list[str]:
    """The level's own words for the letter: its paragraphs before the invoice list, without
    the salutation (the letter sets its own); the whole text when it lists no ``$items``."""
    before, found, _after = level_text.partition("$items")
    paragraphs = [p.strip() for p in (before if found else level_text).split("\n\n")]
    paragraphs = [p for p in paragraphs if p and "$customer_name" not in p]
    return [" ".join(Template(p).safe_substitute(values).split()) for p in paragraphs]


@dataclass(frozen=True)
class Sender:
    """What every letter of a batch shares: the company, its bank account, the levels."""

    company: Company
    bank: BankAccount | None
    levels: dict[tuple[int, int], DunningLevel]

    @classmethod
    def load(cls) -> Sender:
        company = Company.objects.order_by("pk").first()
        assert company is not None, "the company's master data is missing"
        return cls(
            company=company,
            bank=BankAccount.objects.filter(is_default=True).order_by("pk").first(),
            levels={(lv.policy_id, lv.number): lv for lv in DunningLevel.objects.all()},
        )


def letter_context(
    notice: DunningNotice,
    letterhead: Letterhead,
    sender: Sender | None = None,
    items: list[DunningNoticeItem] | None = None,
) -> dict[str, Any]:
    """Every word and figure of the letter, formatted for the notice's language."""
    lang = "en" if notice.language == "en" else "de"
    t = TEXT[lang]
    sender = sender or Sender.load()
    company, bank = sender.company, sender.bank
    customer = notice.customer
    level = sender.levels[(notice.policy_id, notice.level)]
    subject, level_text = level.texts(lang)
    if items is None:
        items = notice_items(notice)
    fees = list(DunningFee.objects.filter(notice=notice).select_related("invoice").order_by("pk"))

    def money(value: Decimal) -> str:
        return texts.money(value, "EUR", lang)

    def date(value: dt.date) -> str:
        return texts.date(value, lang)

    values = {
        "customer_name": customer.name,
        "deadline": date(notice.deadline),
        "total": money(notice.total),
        "company": company.legal_name,
    }
    ref = reference(notice)
    seller_city = f"{company.postcode} {company.city}".strip()
    recipient = [customer.name]
    if customer.kind != "consumer" and customer.contact_name:
        recipient.append(customer.contact_name)
    recipient += [f"{customer.street} {customer.house_number}".strip(), customer.postcode]
    recipient[-1] = f"{customer.postcode} {customer.city}".strip()
    if customer.country and customer.country != "DE":
        recipient.append(texts.country(customer.country, lang).upper())
    interest_rows = [
        t["interest_row"].format(
            invoice=fee.invoice.number if fee.invoice else "",
            start=date(fee.period_start),
            end=date(fee.period_end),
            days=(fee.period_end - fee.period_start).days + 1,
            rate=texts.percent(fee.rate, lang),
            principal=money(fee.principal),
        )
        + f" = {money(fee.amount)}"
        for fee in fees
        if fee.kind == DunningFee.Kind.INTEREST
        and fee.period_start
        and fee.period_end
        and fee.rate is not None
        and fee.principal is not None
    ]
    fee_rows = [
        [
            fee.get_kind_display() if fee.kind != DunningFee.Kind.FEE else fee.reason,
            money(fee.amount),
        ]
        for fee in fees
        if fee.kind != DunningFee.Kind.INTEREST
    ]
    totals = [[t["principal"], money(notice.principal_total), ""]]
    if notice.fees_total:
        totals.append([t["fees"], money(notice.fees_total), ""])
    if notice.interest_total:
        totals.append([t["interest"], money(notice.interest_total), ""])
    if notice.return_fees_total:
        totals.append([t["return_fees"], money(notice.return_fees_total), ""])
    totals.append([t["total"], money(notice.total), "grand"])
    bank_rows: list[list[str]] = []
    qr = None
    if bank is not None:
        holder = bank.account_holder or company.legal_name
        bank_rows = [
            [t["account_holder"], holder],
            ["IBAN", texts.format_iban(bank.iban)],
            ["BIC", bank.bic],
            [t["bank"], bank.bank_name],
        ]
        bank_rows = [row for row in bank_rows if row[1]]
        if notice.total > 0:
            qr = epc_qr_svg(
                epc_payload(
                    name=holder, iban=bank.iban, bic=bank.bic, amount=notice.total, remittance=ref
                )
            ).decode("ascii")
    contact = " · ".join(part for part in (company.email, company.phone) if part)
    info = [[t["date"], date(notice.notice_date)], [t["customer_number"], customer.number]]
    return {
        "lang": lang,
        "meta": {
            "title": f"{notice.level_name} {ref}",
            "author": company.legal_name,
            "keywords": [ref, company.legal_name, customer.name],
        },
        "letterhead": _letterhead(letterhead, company.legal_name),
        "return_line": " · ".join(
            p
            for p in (
                company.legal_name,
                f"{company.street} {company.house_number}".strip(),
                seller_city,
            )
            if p
        ),
        "recipient": [line for line in recipient if line],
        "info": info,
        "title": " ".join(Template(subject).safe_substitute(values).split()),
        "title_suffix": f"{ref}",
        "salutation": t["salutation"].format(name=customer.contact_name or customer.name),
        "intro": _intro(level_text, values),
        "head": [t["invoice"], t["issue_date"], t["due_date"], t["original"], t["paid"], t["open"]],
        "rows": [
            [
                item.number,
                date(item.issue_date),
                date(item.due_date),
                money(item.original_amount),
                money(item.paid_amount),
                money(item.open_amount),
            ]
            for item in items
        ]
        + [
            [f"{t['return_fees']} {r['invoice']}", "", "", "", "", money(Decimal(r["amount"]))]
            for r in notice.return_fees
        ],
        "fee_title": t["fee_rows"],
        "fees": fee_rows,
        "interest_title": t["interest_basis"],
        "interest": interest_rows,
        "totals": totals,
        "deadline": t["deadline"].format(
            total=money(notice.total), deadline=date(notice.deadline), reference=ref
        ),
        "bank": bank_rows,
        "qr": qr,
        "qr_caption": t["qr_caption"].split("|"),
        "qr_alt": t["qr_alt"],
        "dispute": t["dispute"].format(contact=contact or company.legal_name),
        "closing": t["closing"],
        "signature": company.legal_name,
        "page": t["page"],
        "page_of": t["page_of"],
        "footer": company_footer(company, bank, lang) if letterhead.footer else [],
    }


def notice_items(notice: DunningNotice) -> list[DunningNoticeItem]:
    """The notice's invoices in the order of the letter and the mail."""
    return list(DunningNoticeItem.objects.filter(notice=notice).order_by("due_date", "pk"))


def render_letter(
    notice: DunningNotice,
    *,
    letterhead: Letterhead | None = None,
    sender: Sender | None = None,
    items: list[DunningNoticeItem] | None = None,
) -> bytes:
    """The notice's letter as tagged PDF/A-3a + PDF/UA-1 (as the invoice, no attachment).

    The PDF's dates are the notice date, so the same notice gives the same bytes.
    """
    letterhead = letterhead or DEFAULT_LETTERHEAD
    context = letter_context(notice, letterhead, sender, items)
    timestamp = dt.datetime.combine(notice.notice_date, dt.time(0, 0), tzinfo=dt.UTC)
    data = json.dumps(context, ensure_ascii=False, separators=(",", ":"))
    pdf = _compile({"data": data}, timestamp=timestamp, template=TEMPLATE)
    underlays = _pdf_backgrounds(letterhead)
    if underlays == (None, None):
        return pdf
    import io

    import pikepdf

    from faktura.documents.pdf.xmp import save as save_pdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        _underlay(document, *underlays)
        return save_pdf(document)


# --------------------------------------------------------------------------- archive + mail


def deliver_many(notice_ids: list[int], *, actor: Actor = SYSTEM_ACTOR) -> None:
    """``deliver`` for a batch of notices (the task): policies, levels and the letterhead are
    read once for the batch, not once per letter."""
    from faktura.documents.pipeline import current_letterhead
    from faktura.dunning.run import Context

    context, sender = Context.load(), Sender.load()
    letterhead = current_letterhead() or DEFAULT_LETTERHEAD
    for notice_id in notice_ids:
        deliver(notice_id, actor=actor, context=context, letterhead=letterhead, sender=sender)


def deliver(
    notice_id: int,
    *,
    actor: Actor = SYSTEM_ACTOR,
    context: Any = None,
    letterhead: Letterhead | None = None,
    sender: Sender | None = None,
) -> NoticeLetter | None:
    """Render, archive and mail the letter of one sent notice; idempotent (see the module).

    ``context`` (a ``dunning.run.Context``) and ``letterhead``: read once by a batch.
    """
    from faktura.documents.pipeline import current_letterhead

    notice = DunningNotice.objects.select_related("customer").get(pk=notice_id)
    if notice.status != DunningNotice.Status.SENT:
        return None
    sender = sender or Sender.load()
    # The level's texts for the mail, from the batch's levels (compose reads them there).
    notice.level_obj = sender.levels.get((notice.policy_id, notice.level))  # type: ignore[attr-defined]
    items = notice_items(notice)
    letter = NoticeLetter.objects.filter(notice_id=notice.pk).first()
    stored: tuple[str, str, int, bool] | None = None
    if letter is None:
        pdf = render_letter(
            notice, letterhead=letterhead or current_letterhead(), sender=sender, items=items
        )
        digest = hashlib.sha256(pdf).hexdigest()
        name, created = _store(archive_storage(), archive_name(notice), pdf, digest)
        stored = (name, digest, len(pdf), created)
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().only("pk").get(pk=notice.customer_id)
            # Under the lock: whether another worker mailed the notice meanwhile.
            notice.message_id = (
                DunningNotice.objects.select_for_update()
                .filter(pk=notice_id)
                .values_list("message_id", flat=True)
                .get()
            )
            letter = NoticeLetter.objects.filter(notice_id=notice.pk).first()
            if letter is None:
                assert stored is not None
                letter = _record(notice, *stored[:3], actor=actor)
            if notice.message_id is None:
                _queue_mail(notice, letter, items, actor=actor, context=context)
    except IntegrityError:
        # A second worker archived the letter first: its row (and mail) count.
        return NoticeLetter.objects.filter(notice_id=notice_id).first()
    return letter


def _record(
    notice: DunningNotice, name: str, digest: str, size: int, *, actor: Actor
) -> NoticeLetter:
    letter = NoticeLetter(
        notice=notice,
        file=name,
        sha256=digest,
        size=size,
        filename=safe_filename(reference(notice), "pdf"),
        created_at=clock.now(),
        retention_until=retention_until(notice.notice_date, "invoice"),
    )
    letter.save()
    audit.record(
        chain=audit.customer_chain(notice.customer_id),
        actor=actor,
        action="dunning_letter.archived",
        object_type="dunning_notice",
        object_id=notice.pk,
        data={"file": name, "sha256": digest, "size": size, "reference": reference(notice)},
    )
    return letter


def _queue_mail(
    notice: DunningNotice,
    letter: NoticeLetter,
    items: list[DunningNoticeItem],
    *,
    actor: Actor,
    context: Any = None,
) -> None:
    from faktura.dunning.run import Context, compose
    from faktura.notifications import services as outbox
    from faktura.notifications.models import OutboxMessage

    to, cc = outbox.customer_recipients(notice.customer)
    if not to:
        return  # sent by post: the letter is archived for printing
    context = context or Context.load()
    subject, text = compose(notice, items, context)
    message = OutboxMessage(
        event=OutboxMessage.Event.DUNNING_NOTICE,
        from_email=context.from_email,
        reply_to=context.reply_to,
        to=to,
        cc=cc,
        subject=subject,
        language=notice.language,
        body_text=text,
        body_html="",
        attachments=[f"{ATTACHMENT_PREFIX}{letter.pk}"],
        state=OutboxMessage.State.QUEUED,
        created_by=actor.label,
        created_at=clock.now(),
    )
    outbox.queue_messages_locked([message])
    DunningNotice.objects.filter(pk=notice.pk).update(message=message)
    notice.message = message


def undelivered() -> list[int]:
    """Sent notices whose letter or mail is missing (a task lost in a crash)."""
    return list(
        DunningNotice.objects.filter(status=DunningNotice.Status.SENT)
        .filter(message__isnull=True)
        .exclude(customer__email="")
        .order_by("pk")
        .values_list("pk", flat=True)
    ) + list(
        DunningNotice.objects.filter(
            status=DunningNotice.Status.SENT, customer__email="", letter__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def resume_letters(*, older_than: dt.timedelta) -> int:
    """Enqueue the letter task again for sent notices left without letter or mail."""
    from faktura.dunning.tasks import deliver_notice_letters

    cutoff = clock.now() - older_than
    ids = [
        pk
        for pk in undelivered()
        if DunningNotice.objects.filter(pk=pk, sent_at__lte=cutoff).exists()
    ]
    for start in range(0, len(ids), 100):
        deliver_notice_letters.enqueue(ids[start : start + 100])
    return len(ids)


def attachment(reference_: str) -> tuple[str, bytes, str] | None:
    """The outbox attachment ``dunning_letter:<pk>``: file name, verified bytes, MIME type."""
    from faktura.documents.archive import ArchiveDamaged

    if not isinstance(reference_, str) or not reference_.startswith(ATTACHMENT_PREFIX):
        return None
    letter = NoticeLetter.objects.get(pk=int(reference_.removeprefix(ATTACHMENT_PREFIX)))
    storage = letter.file.storage
    with storage.open(letter.file.name, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != letter.sha256:
        raise ArchiveDamaged(
            f"Dunning letter {letter.filename}: the archived file was altered (SHA-256 mismatch).",
            code="archived_file_altered",
        )
    return letter.filename, data, NoticeLetter.content_type


# --------------------------------------------------------------------------- faktura check


def letter_problems() -> Iterator[str]:
    """One line per dunning letter whose file, row and audit entry disagree."""
    from faktura.core.models import AuditEntry
    from faktura.reporting.models import PurgedDocument
    from faktura.reporting.retention import purged

    recorded: dict[str, dict[str, Any]] = {}
    for pk, object_id, data in AuditEntry.objects.filter(
        action="dunning_letter.archived", object_type="dunning_notice"
    ).values_list("pk", "object_id", "data"):
        recorded.setdefault(str(object_id), {"pk": pk, "data": data})
    letters = NoticeLetter.objects.annotate(
        purged=purged(PurgedDocument.Kind.DUNNING_LETTER)
    ).order_by("pk")
    for letter in letters.iterator(chunk_size=500):
        label = f"Dunning letter {letter.filename} (notice {letter.notice_id})"
        name = letter.file.name or ""
        storage = letter.file.storage
        try:
            exists = bool(name) and storage.exists(name)
            if not exists and not getattr(letter, "purged", False):
                yield f"{label}: the archived file is missing"
                continue
            # A file deleted after its retention period is proven by the deletion log.
            actual = _file_digest(storage, name) if exists else letter.sha256
        except OSError as error:
            yield f"{label}: the archived file cannot be read ({error})"
            continue
        if actual != letter.sha256:
            yield (
                f"{label}: the archived file was altered "
                f"(SHA-256 {actual}, archived {letter.sha256})"
            )
        entry = recorded.pop(str(letter.notice_id), None)
        if entry is None:
            yield f"{label}: no archiving record in the audit log"
            continue
        data = entry["data"]
        if (data.get("sha256"), data.get("size"), data.get("file")) != (
            letter.sha256,
            letter.size,
            name,
        ):
            yield f"{label}: differs from its archiving record (audit entry #{entry['pk']})"
    for object_id, entry in recorded.items():
        yield (
            f"Dunning letter of notice {object_id}: archived according to audit entry "
            f"#{entry['pk']}, but its archive row is missing (deleted)"
        )
