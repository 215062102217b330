"""SEPA mandates and direct-debit batches: every change atomic, locked, audited.

A batch is one pain.008.001.08 file per scheme and collection date. It is made once
(XML stored with its SHA-256, never regenerated), submitted to the bank (the items, not
the frozen invoices, say "submitted"), settled when the bank credits it (a payment and
an allocation per item), or discarded before submission (its invoices are free again).
Lock order: see ``faktura.payments.locks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import transaction

from faktura.banking.sepa import pain008
from faktura.collection import arrears, selectors
from faktura.collection.models import (
    ArrearsCostDebit,
    ArrearsDebit,
    DirectDebitBatch,
    DirectDebitItem,
    Mandate,
    Scheme,
)
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import ZERO
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice
from faktura.payments import claims as cost_claims
from faktura.payments import locks
from faktura.payments import selectors as payment_selectors
from faktura.payments.models import Allocation, Payment
from faktura.webhooks import services as webhooks

DIRECT_DEBIT = Customer.PaymentMethod.DIRECT_DEBIT
TRANSFER = Customer.PaymentMethod.TRANSFER


# --- mandates ------------------------------------------------------------------------------


def _sepa_field(value: str, *, field: str, max_length: int) -> str:
    """Refuse what cannot go into a pain.008 file later (charset, length, emptiness)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required.", code=f"missing_{field}", field=field)
    try:
        pain008.sepa_text(text, field=field, max_length=max_length, truncate=False)
    except pain008.SepaFileError as error:
        raise InvalidInput(error.message, code=f"invalid_{field}", field=field) from None
    return text


def _reference(value: str) -> str:
    try:
        return pain008.check_reference(value.strip(), field="reference")
    except pain008.SepaFileError as error:
        raise InvalidInput(
            error.message, code="invalid_mandate_reference", field="reference"
        ) from None


def _new_reference(customer: Customer) -> str:
    count = Mandate.objects.filter(customer=customer).count()
    while True:
        count += 1
        reference = f"{customer.number}-M{count:02d}"
        if not Mandate.objects.filter(reference=reference).exists():
            return reference


def _switch_payment_method(customer: Customer, method: str, actor: Actor) -> None:
    """The customer pays by ``method`` from now on (the caller holds the customer's lock).

    Written here, not through ``update_customer``: a customer granting or revoking a
    mandate in the portal may not edit their master data, but this follows from it.
    """
    if customer.preferred_payment_method != method:
        before = customer.preferred_payment_method
        customer.preferred_payment_method = method
        Customer.objects.filter(pk=customer.pk).update(
            preferred_payment_method=method, updated_at=clock.now()
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="customer.updated",
            object_type="customer",
            object_id=customer.pk,
            data={
                "before": {"preferred_payment_method": before},
                "after": {"preferred_payment_method": method},
            },
        )


def create_mandate(
    *,
    customer_id: int,
    actor: Actor,
    iban: str,
    signature_date: object,
    scheme: str = Scheme.CORE,
    kind: str = Mandate.Kind.RECURRING,
    reference: str | None = None,
    bic: str = "",
    debtor_name: str | None = None,
    street: str | None = None,
    house_number: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
    country: str | None = None,
    use_for_payments: bool = True,
) -> Mandate:
    """Record a signed SEPA mandate; the customer then pays by direct debit.

    Debtor name and address default to the customer's. Everything the pain.008 file will
    need is checked now: IBAN/BIC (schwifty), reference (≤ 35, SEPA charset, unique),
    structured address. Raises InvalidInput invalid_iban, invalid_bic,
    invalid_mandate_reference, mandate_reference_taken, invalid_scheme,
    invalid_mandate_kind, mandate_signature_in_future, b2b_mandate_for_consumer,
    missing_<field>/invalid_<field>.
    """
    permissions.require(actor, "mandate.change")
    return _create_mandate(
        customer_id=customer_id,
        actor=actor,
        iban=iban,
        signature_date=signature_date,
        scheme=scheme,
        kind=kind,
        reference=reference,
        bic=bic,
        debtor_name=debtor_name,
        street=street,
        house_number=house_number,
        postcode=postcode,
        city=city,
        country=country,
        use_for_payments=use_for_payments,
    )


def _create_mandate(
    *,
    customer_id: int,
    actor: Actor,
    iban: str,
    signature_date: object,
    scheme: str,
    kind: str,
    reference: str | None,
    bic: str,
    debtor_name: str | None,
    street: str | None,
    house_number: str | None,
    postcode: str | None,
    city: str | None,
    country: str | None,
    use_for_payments: bool,
) -> Mandate:
    if scheme not in Scheme.values:
        raise InvalidInput(
            f"scheme: {scheme!r} is not CORE or B2B", code="invalid_scheme", field="scheme"
        )
    if kind not in Mandate.Kind.values:
        raise InvalidInput(
            f"kind: {kind!r} is not recurring or one_off", code="invalid_mandate_kind", field="kind"
        )
    signed = locks.business_date(signature_date, field="signature_date")
    if signed > clock.today():
        raise InvalidInput(
            f"signature_date: {signed} lies in the future",
            code="mandate_signature_in_future",
            field="signature_date",
        )
    normalized_iban = locks.iban(iban)
    normalized_bic = locks.bic(bic)
    with transaction.atomic():
        customer = locks.lock_customer(customer_id)
        if scheme == Scheme.B2B and customer.is_consumer:
            raise InvalidInput(
                "The SEPA B2B scheme is for businesses only; consumers sign a CORE mandate.",
                code="b2b_mandate_for_consumer",
                field="scheme",
            )
        ref = _reference(reference) if reference else _new_reference(customer)
        if Mandate.objects.filter(reference=ref).exists():
            raise InvalidInput(
                f"The mandate reference {ref} is taken.",
                code="mandate_reference_taken",
                field="reference",
            )
        mandate = Mandate.objects.create(
            reference=ref,
            customer=customer,
            signature_date=signed,
            scheme=scheme,
            kind=kind,
            iban=normalized_iban,
            bic=normalized_bic,
            debtor_name=_sepa_field(
                debtor_name if debtor_name is not None else customer.name,
                field="debtor_name",
                max_length=70,
            )[:70],
            street=_sepa_field(
                street if street is not None else customer.street, field="street", max_length=70
            ),
            house_number=(
                house_number if house_number is not None else customer.house_number
            ).strip()[:16],
            postcode=_sepa_field(
                postcode if postcode is not None else customer.postcode,
                field="postcode",
                max_length=16,
            ),
            city=_sepa_field(
                city if city is not None else customer.city, field="city", max_length=35
            ),
            country=(country or customer.country or "DE").strip().upper()[:2],
            created_at=clock.now(),
            created_by=actor.label,
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="mandate.created",
            object_type="mandate",
            object_id=mandate.pk,
            data={
                "reference": mandate.reference,
                "scheme": scheme,
                "kind": kind,
                "iban": mandate.iban,
                "signature_date": signed,
            },
        )
        if use_for_payments:
            _switch_payment_method(customer, DIRECT_DEBIT, actor)
    return mandate


def _locked_mandate(mandate_id: int) -> Mandate:
    customer_id = (
        Mandate.objects.filter(pk=mandate_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(f"Mandate {mandate_id} does not exist.", code="mandate_not_found")
    locks.lock_customer(customer_id)
    return Mandate.objects.select_for_update().get(pk=mandate_id)


def _set_status(mandate: Mandate, status: str, reason: str, actor: Actor) -> None:
    before = mandate.status
    mandate.status = status
    mandate.status_reason = reason[:200]
    mandate.status_changed_at = clock.now()
    mandate.save(update_fields=["status", "status_reason", "status_changed_at"])
    audit.record(
        chain=audit.customer_chain(mandate.customer_id),
        actor=actor,
        action=f"mandate.{status}",
        object_type="mandate",
        object_id=mandate.pk,
        data={"reference": mandate.reference, "before": before, "reason": mandate.status_reason},
    )


def _fall_back_to_transfer(mandate: Mandate, actor: Actor) -> None:
    """Without another usable mandate the customer pays by transfer."""
    if selectors.usable_mandate(mandate.customer_id, on=clock.today()) is None:
        _switch_payment_method(mandate.customer, TRANSFER, actor)


def revoke_mandate(*, mandate_id: int, actor: Actor, reason: str = "") -> Mandate:
    """The debtor withdrew the mandate; it is never used again."""
    permissions.require(actor, "mandate.change")
    return _revoke(mandate_id, actor, reason)


def _revoke(mandate_id: int, actor: Actor, reason: str) -> Mandate:
    with transaction.atomic():
        mandate = _locked_mandate(mandate_id)
        permissions.require_own(actor, mandate.customer_id)
        if mandate.status != Mandate.Status.ACTIVE:
            raise StateConflict(
                f"Mandate {mandate.reference} is {mandate.status}, not active.",
                code="mandate_not_active",
            )
        _set_status(mandate, Mandate.Status.REVOKED, reason.strip() or "Widerrufen", actor)
        _fall_back_to_transfer(mandate, actor)
    return mandate


def make_mandate_unusable(*, mandate_id: int, actor: Actor, reason: str) -> Mandate:
    """Mark a mandate unusable (closed account, no mandate …); the customer pays by transfer.

    Called by returned-debit handling inside its transaction; idempotent.
    """
    permissions.require(actor, "mandate.change")
    with transaction.atomic():
        mandate = _locked_mandate(mandate_id)
        if mandate.status == Mandate.Status.UNUSABLE:
            return mandate
        _set_status(mandate, Mandate.Status.UNUSABLE, reason, actor)
        _fall_back_to_transfer(mandate, actor)
    return mandate


def expire_mandates(*, as_of: dt.date, actor: Actor) -> int:
    """Mark mandates unused for 36 months as expired; return how many (idempotent)."""
    permissions.require(actor, "mandate.change")
    candidates = [
        m
        for m in Mandate.objects.filter(status=Mandate.Status.ACTIVE).order_by("customer_id", "pk")
        if m.is_expired(as_of)
    ]
    expired = 0
    for candidate in candidates:
        with transaction.atomic():
            mandate = _locked_mandate(candidate.pk)
            if mandate.status != Mandate.Status.ACTIVE or not mandate.is_expired(as_of):
                continue
            since = mandate.last_collection_date or mandate.signature_date
            _set_status(
                mandate, Mandate.Status.EXPIRED, f"36 Monate ohne Einzug (seit {since})", actor
            )
            _fall_back_to_transfer(mandate, actor)
            expired += 1
    return expired


# --- batches -------------------------------------------------------------------------------


def _check_collection_date(collection_date: dt.date) -> None:
    # The preview (GET /direct-debits/preview) checks with the same selector.
    selectors.check_collection_date(collection_date)


def _creditor(company: Company) -> pain008.Creditor:
    if not company.creditor_id:
        raise StateConflict(
            "The company has no creditor identifier (Gläubiger-ID).", code="creditor_id_missing"
        )
    account = company.bank_accounts.filter(is_default=True).first() or company.bank_accounts.first()
    if account is None:
        raise StateConflict("The company has no bank account.", code="bank_account_missing")
    return pain008.Creditor(
        name=company.legal_name,
        iban=account.iban,
        bic=account.bic,
        creditor_id=company.creditor_id,
        address=pain008.PostalAddress(
            street_name=company.street,
            building_number=company.house_number,
            postcode=company.postcode,
            town=company.city,
            country=company.country,
        ),
    )


def _debit(
    item: DirectDebitItem, mandate: Mandate, collection_date: dt.date
) -> pain008.DirectDebit:
    return pain008.DirectDebit(
        end_to_end_id=item.end_to_end_id,
        amount=item.amount,
        debtor_name=mandate.debtor_name,
        debtor_iban=mandate.iban,
        debtor_bic=mandate.bic,
        debtor_address=pain008.PostalAddress(
            street_name=mandate.street,
            building_number=mandate.house_number,
            postcode=mandate.postcode,
            town=mandate.city,
            country=mandate.country,
        ),
        mandate_reference=mandate.reference,
        mandate_signature_date=mandate.signature_date,
        sequence_type=item.sequence_type,  # type: ignore[arg-type]
        collection_date=collection_date,
        remittance_information=(
            f"Rechnung {item.end_to_end_id} und Mahnkosten"
            if item.costs_amount > 0
            else f"Rechnung {item.end_to_end_id}"
        ),
    )


def create_direct_debit_batch(
    *, collection_date: dt.date, scheme: str, actor: Actor
) -> DirectDebitBatch | None:
    """Make the pain.008.001.08 file collecting every due invoice of ``scheme``; None if none.

    Collects each finalized, open, undisputed invoice of a direct-debit customer with a
    usable mandate of ``scheme`` whose planned debit date (pre-notification respected)
    is on or before ``collection_date``, for its open amount, EndToEndId = invoice
    number, RCUR (OOFF for one-off mandates). Arrears announced for this date or
    earlier (dunning policy, ``collection.arrears``) are added as items of their own;
    the customer's announced dunning costs ride on the item of the oldest of them.
    Locks the customers in id order, then
    the invoices, then the mandates. Raises InvalidInput collection_date_too_early,
    collection_date_not_business_day, invalid_scheme; StateConflict creditor_id_missing,
    bank_account_missing; SepaFileError from the file generator (nothing is written).
    """
    permissions.require(actor, "direct_debit.create")
    if scheme not in Scheme.values:
        raise InvalidInput(
            f"scheme: {scheme!r} is not CORE or B2B", code="invalid_scheme", field="scheme"
        )
    collection_date = locks.business_date(collection_date, field="collection_date")
    _check_collection_date(collection_date)
    creditor = _creditor(Company.get())
    candidates = selectors.collectable_invoices(collection_date=collection_date, scheme=scheme)
    arrears_candidates = arrears.collectable_arrears(
        collection_date=collection_date,
        scheme=scheme,
        exclude_invoice_ids={c.invoice.pk for c in candidates},
    )
    if not candidates and not arrears_candidates:
        return None
    with transaction.atomic():
        customer_ids = sorted(
            {c.invoice.customer_id for c in candidates}
            | {c.invoice.customer_id for c in arrears_candidates}
        )
        locks.lock_customers(customer_ids)
        # Re-read under the customers' locks: nothing can pay, return or collect them now.
        collectables = selectors.collectable_invoices(
            collection_date=collection_date, scheme=scheme, customer_ids=customer_ids
        )
        # Announced arrears (per dunning policy) as items of their own; see arrears.py.
        arrears_collectables = arrears.collectable_arrears(
            collection_date=collection_date,
            scheme=scheme,
            customer_ids=customer_ids,
            exclude_invoice_ids={c.invoice.pk for c in collectables},
        )
        if not collectables and not arrears_collectables:
            return None
        locks.lock_invoices(
            [c.invoice.pk for c in collectables] + [c.invoice.pk for c in arrears_collectables]
        )
        mandates = {
            m.pk: m
            for m in Mandate.objects.select_for_update()
            .filter(
                pk__in={c.mandate.pk for c in collectables}
                | {c.mandate.pk for c in arrears_collectables}
            )
            .order_by("pk")
        }
        batch = DirectDebitBatch.objects.create(
            scheme=scheme,
            collection_date=collection_date,
            created_at=clock.now(),
            created_by=actor.label,
        )
        items = DirectDebitItem.objects.bulk_create(
            [
                DirectDebitItem(
                    batch=batch,
                    invoice=c.invoice,
                    customer_id=c.invoice.customer_id,
                    mandate=mandates[c.mandate.pk],
                    amount=c.amount,
                    end_to_end_id=c.invoice.number or "",
                    sequence_type=c.mandate.sequence_type,
                )
                for c in collectables
            ]
            + [
                DirectDebitItem(
                    batch=batch,
                    invoice=c.invoice,
                    customer_id=c.invoice.customer_id,
                    mandate=mandates[c.mandate.pk],
                    amount=c.amount + c.costs_amount,
                    costs_amount=c.costs_amount,
                    end_to_end_id=c.invoice.number or "",
                    sequence_type=c.mandate.sequence_type,
                    arrears=True,
                )
                for c in arrears_collectables
            ]
        )
        for item, c in zip(items[len(collectables) :], arrears_collectables, strict=True):
            ArrearsDebit.objects.filter(pk=c.arrears_debit.pk).update(item=item)
            if c.costs:
                ArrearsCostDebit.objects.filter(pk__in=[row.pk for row, _ in c.costs]).update(
                    item=item
                )
        message_id = f"FAKTURA-DD-{batch.pk:06d}"
        xml = pain008.generate_pain008(
            creditor=creditor,
            debits=[_debit(item, mandates[item.mandate_id], collection_date) for item in items],
            scheme=scheme,  # type: ignore[arg-type]
            message_id=message_id,
        )
        total = sum((item.amount for item in items), ZERO)
        batch.seal(xml=xml, message_id=message_id, count=len(items), total=total)
        entries = [
            audit.PendingEntry(
                chain=audit.customer_chain(item.customer_id),
                action="direct_debit.scheduled",
                object_type="invoice",
                object_id=item.invoice_id,
                data={
                    "number": item.end_to_end_id,
                    "batch": batch.pk,
                    "amount": item.amount,
                    "mandate": mandates[item.mandate_id].reference,
                    "collection_date": collection_date,
                    "arrears": item.arrears,
                    "costs": item.costs_amount,
                },
            )
            for item in items
        ]
        entries.append(
            audit.PendingEntry(
                chain=audit.COMPANY_CHAIN,
                action="direct_debit_batch.created",
                object_type="direct_debit_batch",
                object_id=batch.pk,
                data={
                    "scheme": scheme,
                    "collection_date": collection_date,
                    "count": len(items),
                    "total": total,
                    "checksum": batch.checksum,
                },
            )
        )
        audit.record_many(actor=actor, entries=entries)
    return batch


def _locked_batch(batch_id: int, *, status: str, code: str) -> DirectDebitBatch:
    if not DirectDebitBatch.objects.filter(pk=batch_id).exists():
        raise NotFound(
            f"Direct-debit file {batch_id} does not exist.", code="direct_debit_batch_not_found"
        )
    locks.lock_customers(
        DirectDebitItem.objects.filter(batch_id=batch_id).values_list("customer_id", flat=True)
    )
    batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != status:
        raise StateConflict(
            f"Direct-debit file {batch_id} is {batch.status}, not {status}.", code=code
        )
    return batch


def _batch_audit(batch: DirectDebitBatch, actor: Actor, action: str, **data: object) -> None:
    audit.record(
        chain=audit.COMPANY_CHAIN,
        actor=actor,
        action=f"direct_debit_batch.{action}",
        object_type="direct_debit_batch",
        object_id=batch.pk,
        data={"checksum": batch.checksum, **data},
    )


def submit_direct_debit_batch(*, batch_id: int, actor: Actor) -> DirectDebitBatch:
    """Record that the file went to the bank: its items are submitted, mandates used.

    Refused (batch_not_submittable) unless created; refused when the collection date is
    too near now (collection_date_too_early) or a mandate became unusable since
    (batch_mandate_unusable): discard the file and make a new one.
    """
    permissions.require(actor, "direct_debit.create")
    with transaction.atomic():
        batch = _locked_batch(
            batch_id, status=DirectDebitBatch.Status.CREATED, code="batch_not_submittable"
        )
        _check_collection_date(batch.collection_date)
        items = list(batch.items.select_for_update().order_by("pk"))
        mandates = {
            m.pk: m
            for m in Mandate.objects.select_for_update()
            .filter(pk__in={i.mandate_id for i in items})
            .order_by("pk")
        }
        unusable = sorted(
            m.reference
            for m in mandates.values()
            if m.status != Mandate.Status.ACTIVE or m.is_expired(batch.collection_date)
        )
        if unusable:
            raise StateConflict(
                f"Mandates no longer usable: {', '.join(unusable)}; discard the file and "
                "make a new one.",
                code="batch_mandate_unusable",
            )
        DirectDebitItem.objects.filter(pk__in=[i.pk for i in items]).update(
            state=DirectDebitItem.State.SUBMITTED
        )
        for mandate in mandates.values():
            if (
                mandate.last_collection_date is None
                or mandate.last_collection_date < batch.collection_date
            ):
                mandate.last_collection_date = batch.collection_date
                mandate.save(update_fields=["last_collection_date"])
        batch.status = DirectDebitBatch.Status.SUBMITTED
        batch.submitted_at = clock.now()
        batch.submitted_by = actor.label
        batch.save(update_fields=["status", "submitted_at", "submitted_by"])
        _batch_audit(batch, actor, "submitted", count=len(items))
    return batch


def discard_direct_debit_batch(*, batch_id: int, actor: Actor) -> DirectDebitBatch:
    """Cancel a file before it went to the bank; its invoices may be collected again."""
    permissions.require(actor, "direct_debit.create")
    with transaction.atomic():
        batch = _locked_batch(
            batch_id, status=DirectDebitBatch.Status.CREATED, code="batch_not_discardable"
        )
        freed = batch.items.update(state=DirectDebitItem.State.DISCARDED)
        batch.status = DirectDebitBatch.Status.DISCARDED
        batch.discarded_at = clock.now()
        batch.discarded_by = actor.label
        batch.save(update_fields=["status", "discarded_at", "discarded_by"])
        _batch_audit(batch, actor, "discarded", freed=freed)
    return batch


def settle_direct_debit_batch(
    *, batch_id: int, actor: Actor, booking_date: dt.date | None = None
) -> DirectDebitBatch:
    """The bank credited the whole file: every item still with the bank is settled.

    Items returned or rejected before stay returned. Called by statement matching for a
    single collective booking of the file, or by hand.
    """
    return settle_direct_debit_items(batch_id=batch_id, actor=actor, booking_date=booking_date)


def settle_direct_debit_items(
    *,
    batch_id: int,
    actor: Actor,
    end_to_end_ids: Collection[str] | None = None,
    booking_date: dt.date | None = None,
) -> DirectDebitBatch:
    """The bank credited these debits of the file: one payment per item, allocated to its invoice.

    An arrears item with dunning costs (``costs_amount``) pays its invoice with the rest of
    its amount and the cost claims announced with it (§ 367 order) with the costs part.

    ``end_to_end_ids``: the items credited (None: every item still submitted, a collective
    booking of the file). Items settled before are skipped (the statement may be booked
    again); items returned or rejected are never settled. An invoice paid otherwise
    meanwhile keeps the money as the customer's credit. The file is settled when no item
    is with the bank any more, partly settled until then. Raises NotFound
    direct_debit_batch_not_found, direct_debit_not_in_batch; StateConflict
    batch_not_settleable, batch_not_due.
    """
    permissions.require(actor, "direct_debit.create")
    with transaction.atomic():
        if not DirectDebitBatch.objects.filter(pk=batch_id).exists():
            raise NotFound(
                f"Direct-debit file {batch_id} does not exist.",
                code="direct_debit_batch_not_found",
            )
        locks.lock_customers(
            DirectDebitItem.objects.filter(batch_id=batch_id).values_list("customer_id", flat=True)
        )
        batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status not in DirectDebitBatch.OPEN:
            raise StateConflict(
                f"Direct-debit file {batch_id} is {batch.status}, not with the bank.",
                code="batch_not_settleable",
            )
        day = booking_date or batch.collection_date
        if day > clock.today():
            raise StateConflict(
                f"Direct-debit file {batch_id} is collected on {batch.collection_date}; it "
                "cannot be settled before.",
                code="batch_not_due",
            )
        queryset = batch.items.select_for_update()
        if end_to_end_ids is not None:
            wanted = set(end_to_end_ids)
            known = set(
                queryset.filter(end_to_end_id__in=wanted).values_list("end_to_end_id", flat=True)
            )
            if missing := sorted(wanted - known):
                raise NotFound(
                    f"Direct-debit file {batch_id} has no debit {', '.join(missing)}.",
                    code="direct_debit_not_in_batch",
                    field="end_to_end_ids",
                )
            queryset = queryset.filter(end_to_end_id__in=wanted)
        items = list(
            queryset.filter(state=DirectDebitItem.State.SUBMITTED)
            .select_related("mandate")
            .order_by("pk")
        )
        locks.lock_invoices(i.invoice_id for i in items)
        open_amounts = payment_selectors.open_amounts([i.invoice_id for i in items])
        costs = _costs_of(items)
        ledger = cost_claims.ledger()
        now = clock.now()
        for item in items:
            payment = Payment.objects.create(
                customer_id=item.customer_id,
                amount=item.amount,
                date=day,
                method=Payment.Method.DIRECT_DEBIT,
                source=Payment.Source.STATEMENT,
                reference=f"SEPA-Lastschrift {item.end_to_end_id}",
                payer_name=item.mandate.debtor_name,
                payer_iban=item.mandate.iban,
                external_id=f"sepa-dd:{batch.message_id}:{item.end_to_end_id}",
                created_at=now,
                created_by=actor.label,
            )
            part = min(item.amount - item.costs_amount, max(open_amounts[item.invoice_id], ZERO))
            allocation = None
            if part > 0:
                allocation = Allocation.objects.create(
                    payment=payment,
                    invoice_id=item.invoice_id,
                    amount=part,
                    created_at=now,
                    created_by=actor.label,
                )
            costs_paid = ZERO
            if item.costs_amount > 0 and ledger is not None:
                parts = []
                for claim in costs.get(item.pk, []):
                    take = min(item.costs_amount - costs_paid, claim.open_amount)
                    if take <= 0:
                        continue
                    claim.open_amount -= take
                    costs_paid += take
                    parts.append((payment.pk, claim, take))
                if parts:
                    entries = ledger.pay(parts, actor=actor, now=now)
                    audit.record_many(actor=actor, entries=entries)
            item.state = DirectDebitItem.State.SETTLED
            item.payment = payment
            item.allocation = allocation
            item.save(update_fields=["state", "payment", "allocation"])
            audit.record(
                chain=audit.customer_chain(item.customer_id),
                actor=actor,
                action="direct_debit.settled",
                object_type="invoice",
                object_id=item.invoice_id,
                data={
                    "number": item.end_to_end_id,
                    "batch": batch.pk,
                    "payment": payment.pk,
                    "amount": item.amount,
                    "allocated": part,
                    "costs": costs_paid,
                    "credit": item.amount - part - costs_paid,
                },
            )
        from faktura.access.services import claims_paid

        for customer_id in sorted({item.customer_id for item in items}):
            claims_paid(customer_id, actor=actor)
        update_batch_status(batch.pk, actor=actor)
        batch.refresh_from_db()
        webhooks.emit_many(
            [("payment.received", webhooks.payment_data(item.payment)) for item in items],
            actor=actor,
        )
        webhooks.emit_paid(
            list(Invoice.objects.filter(pk__in=[i.invoice_id for i in items if i.allocation])),
            open_amounts,
            actor=actor,
        )
    return batch


def _costs_of(items: list[DirectDebitItem]) -> dict[int, list[cost_claims.CostClaim]]:
    """The open cost claims each item collects the costs of (those announced with it),
    locked, in § 367 order; claims paid otherwise meanwhile are left out."""
    with_costs = [i for i in items if i.costs_amount > 0]
    ledger = cost_claims.ledger()
    if not with_costs or ledger is None:
        return {}
    keys: dict[int, set[tuple[str, int]]] = {}
    for row in ArrearsCostDebit.objects.filter(item__in=with_costs):
        keys.setdefault(row.item_id, set()).add(row.key)  # type: ignore[arg-type]
    open_claims = ledger.open_claims({i.customer_id for i in with_costs}, lock=True)
    return {
        item.pk: [
            claim
            for claim in open_claims.get(item.customer_id, [])
            if claim.key in keys.get(item.pk, ())
        ]
        for item in with_costs
    }


def update_batch_status(batch_id: int, *, actor: Actor) -> str:
    """Set the status of a file with the bank from its items; the new status.

    Settled when no item is with the bank any more and one was credited; returned when
    every item came back; partly settled while some are credited and others still with
    the bank. Runs inside the transaction that settled or returned an item; the file is
    locked last (after customers and invoices), so two returns of one file never both
    miss the other's item.
    """
    batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status not in DirectDebitBatch.OPEN:
        return batch.status
    states = set(batch.items.values_list("state", flat=True))
    if DirectDebitItem.State.SUBMITTED in states:
        status = (
            DirectDebitBatch.Status.PARTLY_SETTLED
            if DirectDebitItem.State.SETTLED in states
            else DirectDebitBatch.Status.SUBMITTED
        )
    elif DirectDebitItem.State.SETTLED in states:
        status = DirectDebitBatch.Status.SETTLED
    else:
        status = DirectDebitBatch.Status.RETURNED
    if status == batch.status:
        return status
    batch.status = status
    fields = ["status"]
    if status in (DirectDebitBatch.Status.SETTLED, DirectDebitBatch.Status.RETURNED):
        batch.settled_at = clock.now()
        batch.settled_by = actor.label
        fields += ["settled_at", "settled_by"]
    batch.save(update_fields=fields)
    counts = dict.fromkeys(DirectDebitItem.State.values, 0)
    for state in batch.items.values_list("state", flat=True):
        counts[state] += 1
    _batch_audit(
        batch,
        actor,
        status,
        settled=counts[DirectDebitItem.State.SETTLED],
        returned=counts[DirectDebitItem.State.RETURNED],
        submitted=counts[DirectDebitItem.State.SUBMITTED],
    )
    return status
