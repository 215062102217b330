"""The cancellation button (§ 312k BGB): notice given without signing in, confirmed at once.

Anyone may declare a notice: the law gives the right to everyone who has a contract, and
the button must work without a login (OLG Köln 6 U 62/24). So this service takes no
actor. Every declaration is recorded as a ``CancellationRequest`` with what was submitted
and when. If the data names exactly one running contract of one customer, the contract is
cancelled at once through ``services.cancel_own_subscription``, as that customer; otherwise
the declaration waits in the back office's to-do list.

A confirmation goes out at once (§ 312k (4) BGB), through the outbox, in the same
transaction: to the customer's own address with the day the contract ends when the
contract was found, and a confirmation of receipt (with what was submitted, nothing
more) to the address given. What the person sees and receives never tells them whether a
customer or a contract exists beyond what they entered themselves.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from faktura.core import audit, clock, permissions
from faktura.core.actors import CUSTOMER, Actor
from faktura.core.errors import DomainError, InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.documents.pdf import texts
from faktura.invoicing.parties import seller_data
from faktura.notifications import customer_mail, mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage
from faktura.subscriptions import services
from faktura.subscriptions.models import CancellationRequest, Subscription

Kind = CancellationRequest.Kind
SYSTEM = Actor.system("cancellation_button")
_CONTRACT_NUMBER = re.compile(r"(?:abo(?:nnement)?|vertrag)?[\s.:#-]*(?:nr\.?)?[\s.:#-]*(\d{1,12})")


@dataclass(frozen=True)
class Declaration:
    """What the person entered on the cancellation page."""

    name: str
    email: str
    customer_number: str = ""
    contract: str = ""
    kind: str = Kind.ORDINARY
    reason: str = ""
    desired_end: dt.date | None = None  # None: "zum nächstmöglichen Zeitpunkt"


def _normal(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _text(value: str, *, field: str, maximum: int, required: bool = False) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise InvalidInput(f"{field} is required.", code=f"missing_{field}", field=field)
    if len(text) > maximum:
        raise InvalidInput(
            f"{field}: at most {maximum} characters", code=f"invalid_{field}", field=field
        )
    check_text(text, field=field)
    return text


def check_declaration(declaration: Declaration) -> Declaration:
    """The declaration with its texts tidied, or InvalidInput naming the field.

    Codes: missing_name, invalid_name, missing_email, invalid_email,
    invalid_customer_number, invalid_contract, invalid_kind, reason_required,
    invalid_reason, desired_end_in_past, text_not_printable.
    """
    name = _text(declaration.name, field="name", maximum=200, required=True)
    email = (declaration.email or "").strip()
    if not email:
        raise InvalidInput("email is required.", code="missing_email", field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(
            f"email: {email!r} is not an e-mail address", code="invalid_email", field="email"
        ) from None
    number = _text(declaration.customer_number, field="customer_number", maximum=30)
    contract = _text(declaration.contract, field="contract", maximum=200)
    if declaration.kind not in Kind.values:
        raise InvalidInput("kind is ordinary or extraordinary.", code="invalid_kind", field="kind")
    reason = (declaration.reason or "").strip()
    if declaration.kind == Kind.EXTRAORDINARY and not reason:
        raise InvalidInput(
            "An extraordinary notice needs its reason.", code="reason_required", field="reason"
        )
    if len(reason) > 2000:
        raise InvalidInput("reason: at most 2000 characters", code="invalid_reason", field="reason")
    check_text(reason, field="reason", multiline=True)
    desired = declaration.desired_end
    if desired is not None and desired < clock.today():
        raise InvalidInput(
            "The contract cannot end in the past.", code="desired_end_in_past", field="desired_end"
        )
    return Declaration(
        name=name,
        email=email,
        customer_number=number,
        contract=contract,
        kind=declaration.kind,
        reason=reason,
        desired_end=desired,
    )


def _find_customer(declaration: Declaration) -> Customer | None:
    """The one customer the data names: by number or e-mail, confirmed by a second item.

    A customer number alone is no proof: the name (or contact) or the e-mail address must
    match as well; found by e-mail, the name must match.
    """
    name = _normal(declaration.name)
    email = _normal(declaration.email)

    def named(customer: Customer) -> bool:
        return name in {_normal(customer.name), _normal(customer.contact_name)}

    def addressed(customer: Customer) -> bool:
        return email == _normal(customer.email)

    if declaration.customer_number:
        customer = Customer.objects.filter(number__iexact=declaration.customer_number).first()
        if customer is not None and (named(customer) or addressed(customer)):
            return customer
        return None
    candidates = list(Customer.objects.filter(email__iexact=declaration.email)[:2])
    if len(candidates) == 1 and named(candidates[0]):
        return candidates[0]
    return None


def contract_label(subscription: Subscription) -> str:
    """How the portal names a contract: "Abo-Nr. 42 · Mitgliedschaft"."""
    what = subscription.plan or subscription.course
    return f"Abo-Nr. {subscription.pk} · {what}"


def _find_subscription(customer: Customer, contract: str) -> Subscription | None:
    """The one running plan subscription of ``customer`` the text names (all if empty)."""
    running = list(
        Subscription.objects.select_related("plan")
        .filter(customer=customer, plan__isnull=False, ends_on__isnull=True)
        .exclude(status=Subscription.Status.ENDED)
        .order_by("pk")
    )
    text = _normal(contract)
    if text:
        number = _CONTRACT_NUMBER.fullmatch(text)
        running = [
            s
            for s in running
            if (number and int(number.group(1)) == s.pk)
            or text
            in {
                _normal(s.plan.name if s.plan else ""),
                _normal(s.plan.code if s.plan else ""),
                _normal(s.external_reference) or None,
                _normal(contract_label(s)),
            }
        ]
    return running[0] if len(running) == 1 else None


def customer_actor(customer: Customer) -> Actor:
    """The customer giving notice through the button (not signed in)."""
    return Actor(
        label=f"customer:{customer.number} (Kündigungsbutton)",
        roles=frozenset({CUSTOMER}),
        customer_id=customer.pk,
    )


def declare_cancellation(*, declaration: Declaration) -> CancellationRequest:
    """Record a notice from the cancellation button, carry it out if it names one contract.

    One transaction: the request, the cancellation (``cancel_own_subscription``, locks the
    customer, then the subscription), the audit entries and the confirmation mails.
    An ordinary notice ends the contract on the desired day, or at the earliest end its
    terms allow when that is later or no day was asked. An extraordinary notice (§ 314
    BGB) also ends it there ("hilfsweise ordentlich") and stays on the to-do list for
    staff to check its reason. Raises InvalidInput (``check_declaration``) only.
    """
    declaration = check_declaration(declaration)
    now = clock.now()
    with transaction.atomic():
        customer = _find_customer(declaration)
        if customer is not None:
            customer = Customer.objects.select_for_update().get(pk=customer.pk)
        subscription = _find_subscription(customer, declaration.contract) if customer else None
        request = CancellationRequest.objects.create(
            submitted_at=now,
            name=declaration.name,
            customer_number=declaration.customer_number,
            email=declaration.email,
            contract=declaration.contract,
            kind=declaration.kind,
            reason=declaration.reason,
            desired_end=declaration.desired_end,
            customer=customer,
        )
        ends_on, earliest = None, None
        if customer is not None and subscription is not None:
            ends_on, earliest = _cancel(request, customer, subscription, declaration)
        else:
            request.outcome = "Kein Vertrag eindeutig erkannt: bitte von Hand bearbeiten."
        request.save()
        audit.record(
            chain=audit.customer_chain(customer.pk) if customer else audit.COMPANY_CHAIN,
            actor=customer_actor(customer) if customer else SYSTEM,
            action="cancellation_request.received",
            object_type="cancellation_request",
            object_id=request.pk,
            data={
                "submitted_at": now.isoformat(),
                "name": declaration.name,
                "customer_number": declaration.customer_number,
                "email": declaration.email,
                "contract": declaration.contract,
                "kind": declaration.kind,
                "reason": declaration.reason,
                "desired_end": declaration.desired_end,
                "subscription": request.subscription_id,
                "ends_on": ends_on,
                "status": request.status,
            },
        )
        _confirm(request, customer, ends_on, earliest)
    return request


def _cancel(
    request: CancellationRequest,
    customer: Customer,
    subscription: Subscription,
    declaration: Declaration,
) -> tuple[dt.date | None, dt.date | None]:
    earliest = services.earliest_end(subscription)
    desired = declaration.desired_end
    ends_on = max(desired, earliest) if desired else earliest
    try:
        services.cancel_own_subscription(
            actor=customer_actor(customer),
            subscription_id=subscription.pk,
            end_on=ends_on,
            reason=declaration.reason,
        )
    except DomainError as error:
        request.subscription = subscription
        request.outcome = f"Nicht ausgeführt ({error.code}): bitte von Hand bearbeiten."
        return None, None
    request.subscription = subscription
    request.ends_on = ends_on
    when = texts.date(ends_on, "de")
    if declaration.kind == Kind.EXTRAORDINARY:
        request.outcome = (
            f"Hilfsweise ordentlich gekündigt zum {when}; außerordentliche Kündigung bitte prüfen."
        )
    else:
        request.status = CancellationRequest.Status.DONE
        request.processed_at = request.submitted_at
        request.processed_by = SYSTEM.label
        request.outcome = f"Gekündigt zum {when}."
    return ends_on, earliest


def _received_context(request: CancellationRequest, lang: str) -> dict[str, object]:
    local = timezone.localtime(request.submitted_at)
    kind = {
        "de": {
            Kind.ORDINARY: "ordentliche Kündigung",
            Kind.EXTRAORDINARY: "außerordentliche Kündigung",
        },
        "en": {Kind.ORDINARY: "ordinary notice", Kind.EXTRAORDINARY: "extraordinary notice"},
    }[lang][Kind(request.kind)]
    asap = "zum nächstmöglichen Zeitpunkt" if lang == "de" else "at the earliest possible date"
    return {
        "document_title": "Kündigung" if lang == "de" else "Notice of cancellation",
        "submitted": f"{texts.date(local.date(), lang)} {local:%H:%M}",
        "name": request.name,
        "customer_number": request.customer_number,
        "email": request.email,
        "contract": request.contract,
        "kind": kind,
        "extraordinary": request.kind == Kind.EXTRAORDINARY,
        "reason": request.reason,
        "desired": texts.date(request.desired_end, lang) if request.desired_end else asap,
    }


def _confirm(
    request: CancellationRequest,
    customer: Customer | None,
    ends_on: dt.date | None,
    earliest: dt.date | None,
) -> None:
    """Queue the confirmations (§ 312k (4) BGB) inside the caller's transaction."""
    messages: list[OutboxMessage] = []
    addresses: set[str] = set()
    actor = customer_actor(customer) if customer else SYSTEM
    if customer is not None and ends_on is not None and request.subscription is not None:
        lang = customer_mail.language_of(customer)
        ctx = customer_mail.base_context(customer) | _received_context(request, lang)
        ctx |= {
            "plan": str(request.subscription.plan),
            "contract_label": contract_label(request.subscription),
            "ends_on": texts.date(ends_on, lang),
            "earlier_not_possible": bool(
                request.desired_end and earliest and request.desired_end < earliest
            ),
        }
        message = customer_mail.message(
            customer, OutboxMessage.Event.CONTRACT_CANCELLED, ctx, actor=actor
        )
        if message is not None:
            messages.append(message)
            addresses = {_normal(a) for a in [*message.to, *message.cc]}
    if _normal(request.email) not in addresses:
        # Receipt only, to the address given: nothing that was not entered.
        lang = customer_mail.language_of(customer) if customer else "de"
        seller = customer_mail.party(seller_data(Company.get()))
        ctx = customer_mail.base_context(customer) if customer else {}
        ctx |= {
            "lang": lang,
            "accent": ctx.get("accent", mail.DEFAULT_ACCENT),
            "greeting": texts.TEXT[lang]["greeting_named"].format(name=request.name),
            "closing": texts.TEXT[lang]["closing"],
            "seller": seller,
            "footer": mail.seller_footer_lines(seller, lang),
            "customer_name": customer.name if customer else request.name,
            "number": "",
        } | _received_context(request, lang)
        composed = mail.render(OutboxMessage.Event.CANCELLATION_RECEIVED, ctx)
        messages.append(
            customer_mail.outbox_message(
                composed, seller=seller, to=[request.email], cc=[], actor=actor
            )
        )
    outbox.queue_messages_locked(messages)


def cancel_with_confirmation(
    *, actor: Actor, subscription_id: int, reason: str = ""
) -> Subscription:
    """A signed-in customer's notice in the portal, confirmed by mail with the end date.

    ``services.cancel_own_subscription`` (permission, own account, earliest end) and the
    confirmation to the customer's address in one transaction.
    """
    with transaction.atomic():
        subscription = services.cancel_own_subscription(
            actor=actor, subscription_id=subscription_id, reason=reason
        )
        customer = Customer.objects.select_for_update().get(pk=subscription.customer_id)
        assert subscription.ends_on is not None
        lang = customer_mail.language_of(customer)
        now = timezone.localtime(clock.now())
        ctx = customer_mail.base_context(customer) | {
            "document_title": "Kündigung" if lang == "de" else "Notice of cancellation",
            "submitted": f"{texts.date(now.date(), lang)} {now:%H:%M}",
            "name": customer.name,
            "customer_number": customer.number,
            "email": customer.email,
            "contract": "",
            "kind": "ordentliche Kündigung" if lang == "de" else "ordinary notice",
            "extraordinary": False,
            "reason": (reason or "").strip(),
            "desired": (
                "zum nächstmöglichen Zeitpunkt" if lang == "de" else "at the earliest possible date"
            ),
            "plan": str(subscription.plan),
            "contract_label": contract_label(subscription),
            "ends_on": texts.date(subscription.ends_on, lang),
            "earlier_not_possible": False,
        }
        message = customer_mail.message(
            customer, OutboxMessage.Event.CONTRACT_CANCELLED, ctx, actor=actor
        )
        if message is not None:
            outbox.queue_messages_locked([message])
    return subscription


def process_request(*, actor: Actor, request_id: int, note: str = "") -> CancellationRequest:
    """Staff have dealt with a declaration (found the contract, ended it, or answered)."""
    permissions.require(actor, "cancellation_request.process")
    text = (note or "").strip()
    check_text(text, field="note")
    with transaction.atomic():
        customer_id = (
            CancellationRequest.objects.filter(pk=request_id)
            .values_list("customer_id", flat=True)
            .first()
        )
        if customer_id is not None:  # the lock order: the customer's account first
            Customer.objects.select_for_update().filter(pk=customer_id).first()
        request = CancellationRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None:
            raise NotFound(
                f"Cancellation request {request_id} does not exist.",
                code="cancellation_request_not_found",
            )
        if request.status == CancellationRequest.Status.DONE:
            raise StateConflict(
                "The cancellation request is processed already.",
                code="cancellation_request_processed",
            )
        request.status = CancellationRequest.Status.DONE
        request.processed_at = clock.now()
        request.processed_by = actor.label
        if text:
            request.outcome = f"{request.outcome} {text}".strip()[:300]
        request.save(update_fields=["status", "processed_at", "processed_by", "outcome"])
        audit.record(
            chain=(
                audit.customer_chain(request.customer_id)
                if request.customer_id
                else audit.COMPANY_CHAIN
            ),
            actor=actor,
            action="cancellation_request.processed",
            object_type="cancellation_request",
            object_id=request.pk,
            data={"note": text},
        )
    return request
