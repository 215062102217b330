"""Every back-office page, enumerated from the URL resolver and filled with sample rows.

The crawler (tests/web/test_crawl.py) and the accessibility test (tests/e2e) both walk
this map, so a screen added later is visited without touching either test: its pattern
is found in the resolver, and its path parameters come from ``PARAMETERS`` by name. A
parameter nobody can fill fails the crawler until it gets a sample here or the pattern a
row in ``NOT_CRAWLED`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from faktura.core.actors import ROLES, Actor
from tests.conftest import TODAY

NAMESPACE = "backoffice"


@dataclass
class Samples:
    """One row of each kind a back-office page can be about, each state worth a look."""

    draft: int
    pending: int
    invoice: int  # finalized, partly paid
    credit_note: int
    cancelled: int
    cancellation: int
    customer: int
    consumer: int
    unmatched_line: int
    booked_line: int
    subscription: int
    allocated_payment: int
    unallocated_payment: int
    payment_request: int  # pending
    refund: int  # requested
    approved_refund: int  # approved, waiting for a refund file
    refund_batch: int  # a pain.001 file made, waiting for its release
    notice: int  # with its archived letter
    notice_with_fee: int  # a later notice: its dunning fee and interest
    fee: int  # that notice's dunning fee, open
    agreement: int  # an instalment plan, the first instalment paid
    collection_case: int  # proposed
    handed_over_case: int  # approved, with a payment the agency reported
    batch: int  # direct debits
    user: int
    api_key: int
    webhook_endpoint: int
    access_override: int  # the consumer's, active
    print_batch: int  # holds the invoice; its credit note waits for the next
    product: int  # tracked, below its reorder level
    allocation: int = 0  # of allocated_payment, active
    mandate: int = 0  # the business customer's, active


def _mail_events(_samples: Samples) -> list[str]:
    """Mails of each shape: a document's, fixed facts in the text, § 312k, the sign-in link
    (every mail's page is visited in tests/web/test_mail_templates.py)."""
    from faktura.web.backoffice.views.masterdata_mails import MAILS

    chosen = ["invoice_issued", "arrears_debit_announced", "contract_cancelled", "portal_sign_in"]
    assert set(chosen) <= set(MAILS)
    return chosen


def _report_slugs(_samples: Samples) -> list[str]:
    from faktura.web.backoffice.views.reports import REPORTS

    return list(REPORTS)


# Path parameter (by name) → the values to visit.
PARAMETERS: dict[str, Callable[[Samples], list[Any]]] = {
    "invoice_id": lambda s: [
        s.draft,
        s.pending,
        s.invoice,
        s.credit_note,
        s.cancelled,
        s.cancellation,
    ],
    "customer_id": lambda s: [s.customer, s.consumer],
    "line_id": lambda s: [s.unmatched_line, s.booked_line],
    "report": _report_slugs,
    "file_format": lambda s: ["csv", "xlsx"],
    "subscription_id": lambda s: [s.subscription],
    "payment_id": lambda s: [s.allocated_payment, s.unallocated_payment],
    "request_id": lambda s: [s.payment_request],
    "refund_id": lambda s: [s.refund],
    "refund_batch_id": lambda s: [s.refund_batch],
    "notice_id": lambda s: [s.notice, s.notice_with_fee],
    "fee_id": lambda s: [s.fee],
    "agreement_id": lambda s: [s.agreement],
    "case_id": lambda s: [s.collection_case, s.handed_over_case],
    "batch_id": lambda s: [s.batch],
    "event": _mail_events,
    "language": lambda s: ["de", "en"],
    "mail_language": lambda s: ["de", "en"],
    "user_id": lambda s: [s.user],
    "key_id": lambda s: [s.api_key],
    "endpoint_id": lambda s: [s.webhook_endpoint],
    "allocation_id": lambda s: [s.allocation],
    "mandate_id": lambda s: [s.mandate],
    "override_id": lambda s: [s.access_override],
    "print_batch_id": lambda s: [s.print_batch],
    "product_id": lambda s: [s.product],
}

# Patterns the crawler cannot visit, with the reason (url name → why). Keep it short.
NOT_CRAWLED: dict[str, str] = {
    "backoffice:inbox_action": (
        "POST only: each item's action; crawled through the Aufgaben page's forms"
    ),
    "backoffice:collection_export_file": (
        "an export needs an approved case, which would take the sample case out of the "
        "proposals; its files are tested in tests/dunning/test_collection_handover.py"
    ),
}


@dataclass(frozen=True)
class Pattern:
    name: str  # "backoffice:invoice"
    route: str
    parameters: tuple[str, ...]


def backoffice_patterns() -> list[Pattern]:
    """Every named pattern in the back office's namespace (nested includes too)."""
    found: list[Pattern] = []

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and namespace == NAMESPACE and entry.name:
                converters = getattr(entry.pattern, "converters", {}) or {}
                if not converters and getattr(entry.pattern, "regex", None) is not None:
                    converters = dict.fromkeys(entry.pattern.regex.groupindex)
                found.append(
                    Pattern(
                        name=f"{NAMESPACE}:{entry.name}",
                        route=prefix + str(entry.pattern),
                        parameters=tuple(converters),
                    )
                )

    walk(get_resolver().url_patterns, "", None)
    return found


def unfillable(patterns: list[Pattern]) -> list[str]:
    """Patterns with a parameter that has no sample and no row in NOT_CRAWLED."""
    return [
        f"{p.name} ({p.route}): no sample for {', '.join(missing)}"
        for p in patterns
        if p.name not in NOT_CRAWLED
        and (missing := [name for name in p.parameters if name not in PARAMETERS])
    ]


def urls(samples: Samples) -> list[tuple[str, str]]:
    """(url name, path) of every crawlable page, each parameter with each of its samples."""
    result: list[tuple[str, str]] = []
    for pattern in backoffice_patterns():
        if pattern.name in NOT_CRAWLED or any(p not in PARAMETERS for p in pattern.parameters):
            continue
        choices = [PARAMETERS[name](samples) for name in pattern.parameters]
        for values in itertools.product(*choices):
            kwargs = dict(zip(pattern.parameters, values, strict=True))
            result.append((pattern.name, reverse(pattern.name, kwargs=kwargs)))
    return result


def role_users() -> dict[str, Any]:
    """One user per role (the group of that name), username = role."""
    from django.contrib.auth.models import Group, User

    users = {}
    for role in ROLES:
        if role == "customer":
            continue
        user = User.objects.create_user(role, password="Geheim-und-lang-2026")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[role] = user
    return users


def make_samples(business_customer, consumer, actor: Actor) -> Samples:
    """The rows behind the sample parameters, made through the services."""
    from faktura.access import services as access
    from faktura.api.keys import create_api_key
    from faktura.banking import services as banking
    from faktura.banking.models import BankTransaction
    from faktura.catalog import services as catalog
    from faktura.collection import services as collection
    from faktura.core import clock
    from faktura.core import services as core_services
    from faktura.core.models import Company
    from faktura.customers import services as customers
    from faktura.documents import pipeline, print_batch
    from faktura.dunning import collection_handover, instalments
    from faktura.dunning.models import CollectionCase, DunningFee, DunningNotice
    from faktura.invoicing import services as invoicing
    from faktura.payments import refunds
    from faktura.payments import services as payments
    from faktura.payments.models import PaymentSettings
    from faktura.subscriptions import services as subscriptions
    from faktura.webhooks import services as webhooks
    from tests.banking.camt_builder import camt, transfer
    from tests.collection.helpers import debit_customer, due_invoice
    from tests.dunning.helpers import overdue
    from tests.dunning.helpers import run as dunning_run
    from tests.invoicing.helpers import line, order
    from tests.payments.helpers import finalized, pay
    from tests.subscriptions.helpers import plan

    company = Company.objects.get()
    company.approval_threshold = 1000
    company.save(update_fields=["approval_threshold"])

    def finalize(customer, *lines):
        return invoicing.finalize_invoice(invoice_id=order(customer, actor, *lines).pk, actor=actor)

    with clock.frozen(dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC)):
        invoice = finalize(business_customer, line("2", "100.00"), line("1", "30.00", rate="de-7"))
    payments.request_manual_payment(
        actor=actor,
        amount="100.00",
        date=TODAY,
        method="transfer",
        reference=invoice.number,
        invoice_id=invoice.pk,
    )
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, lines=[(1, "1")], reason="Eine Stunde weniger"
    )
    credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    cancelled = finalize(consumer, line("1", "59.50"))
    cancellation = invoicing.cancel_invoice(
        invoice_id=cancelled.pk, actor=actor, reason="Doppelt berechnet"
    )
    draft = order(business_customer, actor, line("1", "10.00"))
    pending = order(business_customer, actor, line("20", "100.00"))
    banking.import_statement(
        data=camt(
            [
                transfer("42.00", "Spende ohne Rechnung", name="Unbekannt GmbH", booked=TODAY),
                transfer(
                    f"{cancelled.grand_total}",
                    f"Rechnung {cancelled.number}",
                    name="Max Mustermann",
                    booked=TODAY,
                ),
            ],
            created=TODAY,
        ),
        filename="auszug.xml",
        actor=actor,
    )
    lines = BankTransaction.objects.order_by("pk")
    unmatched = lines.filter(state=BankTransaction.State.UNMATCHED).first()
    booked = lines.exclude(state=BankTransaction.State.UNMATCHED).first() or lines.last()
    assert unmatched is not None
    assert booked is not None
    # A cashier's payment waiting for a second person.
    PaymentSettings.objects.create(require_payment_confirmation=True)
    request = payments.request_manual_payment(
        actor=Actor(label="user:kasse", roles=frozenset({"cashier"})),
        amount="20.00",
        date=TODAY,
        method="cash",
        reference=invoice.number,
        invoice_id=invoice.pk,
    )
    assert request.status == "pending"

    # A plan subscription of the business customer.
    subscription = subscriptions.create_subscription(
        actor=actor, customer_id=business_customer.pk, plan_id=plan().pk, starts_on=TODAY
    )
    # A payment allocated with an overpayment (credit, a refund of part of it requested)
    # and one nobody has assigned yet.
    credited = finalized(business_customer, actor)
    allocated = pay(actor, "150.00", business_customer)
    payments.allocate_payment(
        payment_id=allocated.pk,
        allocations=[(credited.pk, "150.00")],
        actor=actor,
        overpayment=True,
    )
    refund = refunds.refund_credit(customer_id=business_customer.pk, actor=actor, amount="10.00")
    # Refunds approved by a second person: one in a refund file made (not yet released),
    # one waiting for the next file.
    second_person = Actor(label="user:bernd", roles=frozenset({"approver"}))
    batched = refunds.refund_credit(customer_id=business_customer.pk, actor=actor, amount="5.00")
    refunds.approve_refund(refund_id=batched.pk, actor=second_person)
    refund_batch = refunds.create_refund_batch(actor=actor)
    assert refund_batch is not None
    approved = refunds.refund_credit(customer_id=business_customer.pk, actor=actor, amount="6.00")
    refunds.approve_refund(refund_id=approved.pk, actor=second_person)
    unallocated = pay(actor, "25.00")
    # The consumer's invoices through the whole dunning sequence: notices with their
    # letters, then a collection case proposed.
    overdue(consumer, actor, due=dt.date(2026, 10, 1), price="80.00")
    for day in (7, 21, 35, 49, 63):
        dunning_run(dt.date(2026, 10, 1) + dt.timedelta(days=day))
    notice = DunningNotice.objects.filter(customer=consumer).order_by("pk").first()
    case = CollectionCase.objects.filter(customer=consumer).first()
    assert notice is not None
    assert case is not None
    fee = DunningFee.objects.filter(customer=consumer, kind=DunningFee.Kind.FEE).first()
    assert fee is not None
    assert fee.is_open
    assert fee.notice_id is not None
    # An instalment plan for a later invoice of the consumer: three instalments from today,
    # the first one paid.
    agreed = overdue(consumer, actor, due=dt.date(2026, 11, 10), price="60.00")
    agreement = instalments.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[agreed.pk],
        actor=actor,
        instalments=3,
        first_due_date=TODAY,
    )
    payments.allocate_payment(
        payment_id=pay(actor, "20.00", consumer).pk,
        allocations=[(agreed.pk, "20.00")],
        actor=actor,
    )
    # A direct-debit batch (the business customer pays by mandate from now on).
    debit_customer(business_customer, actor, payment_term_days=0)
    due_invoice(business_customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=dt.date(2026, 11, 30), scheme="CORE", actor=actor
    )
    assert batch is not None
    # The business customer's collection case handed over, the agency reporting a payment.
    handed = CollectionCase.objects.filter(customer=business_customer).first()
    assert handed is not None
    collection_handover.approve_case(
        case_id=handed.pk, actor=Actor(label="user:freigabe", roles=frozenset({"approver"}))
    )
    collection_handover.record_agency_payment(
        case_id=handed.pk, amount="20.00", costs="5.00", date=TODAY, actor=actor
    )
    # Admin things: a colleague, an API key, a webhook endpoint.
    admin = Actor(label="user:chefin", roles=frozenset({"admin"}))
    colleague = core_services.create_user(
        actor=admin,
        username="kollegin",
        email="kollegin@example.org",
        password="Auch-geheim-und-lang-2026",
        roles=["cashier"],
    )
    api_key, _secret = create_api_key(name="Shop", user=colleague, scopes=["read"], actor=admin)
    endpoint, _secret = webhooks.create_endpoint(
        actor=admin, url="https://shop.example.org/hooks", description="Shop"
    )
    # One mail with the company's own text: its page offers "Standard wiederherstellen".
    from faktura.notifications.template_services import save_mail_template

    save_mail_template(
        actor=actor,
        event="invoice_issued",
        language="de",
        subject="Ihre Rechnung {{ number }}",
        body="Guten Tag {{ customer_name }}, anbei Rechnung {{ number }} über {{ amount }}.",
    )
    # The consumer (in dunning and collection) let in until revoked.
    override = access.override(customer_id=consumer.pk, until=None, why="Kulanz", actor=actor)
    # Letters: the business customer wants paper; the invoice went into today's print
    # batch, its credit note (archived after it) waits for the next.
    customers.update_customer(customer_id=business_customer.pk, actor=actor, delivery_by_post=True)
    pipeline.process(invoice.pk)
    printed = print_batch.create_print_batch(on=TODAY, actor=actor)
    assert printed is not None
    pipeline.process(credit.pk)
    product = catalog.create_product(
        actor=actor,
        sku="KABEL-1",
        name="Patchkabel 1 m",
        unit_price="3.4950",
        tax_rate="de-19",
        track_stock=True,
        stock_level="3",
        low_stock_threshold="5",
    )
    return Samples(
        draft=draft.pk,
        pending=pending.pk,
        invoice=invoice.pk,
        credit_note=credit.pk,
        cancelled=cancelled.pk,
        cancellation=cancellation.pk,
        customer=business_customer.pk,
        consumer=consumer.pk,
        unmatched_line=unmatched.pk,
        booked_line=booked.pk,
        subscription=subscription.pk,
        allocated_payment=allocated.pk,
        unallocated_payment=unallocated.pk,
        payment_request=request.pk,
        refund=refund.pk,
        approved_refund=approved.pk,
        refund_batch=refund_batch.pk,
        notice=notice.pk,
        notice_with_fee=fee.notice_id,
        fee=fee.pk,
        agreement=agreement.pk,
        collection_case=case.pk,
        handed_over_case=handed.pk,
        batch=batch.pk,
        user=colleague.pk,
        api_key=api_key.pk,
        webhook_endpoint=endpoint.pk,
        allocation=allocated.allocations.get().pk,
        mandate=business_customer.mandates.get().pk,
        access_override=override.pk,
        print_batch=printed.pk,
        product=product.pk,
    )
