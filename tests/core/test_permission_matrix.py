"""The permission matrix, walked for every role through the API, the admin and the services."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client, RequestFactory
from django.urls import reverse

from faktura.api.keys import create_api_key
from faktura.api.permissions import ROUTE_OPERATIONS
from faktura.api.router import api as ninja_api
from faktura.core import permissions
from faktura.core.actors import ROLES, Actor
from faktura.core.models import AuditEntry
from faktura.core.roles import APPS
from tests.api.conftest import ApiClient, order_body
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
# Every role, and a superuser without any group: a superuser counts as admin.
PEOPLE = (*ROLES, "superuser")
REFUSAL_CODES = {"permission_denied", "role_required", "not_an_approver"}


def person(name: str) -> User:
    """A staff user holding the role ``name`` (or a superuser without groups)."""
    if name == "superuser":
        return User.objects.create_superuser(name, f"{name}@example.org", "pw-12345678")
    user = User.objects.create_user(username=name, password="pw-12345678", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def roles_of(name: str) -> set[str]:
    return {"admin"} if name == "superuser" else {name}


def allowed(name: str, operation: str | None) -> bool:
    return operation is not None and bool(roles_of(name) & permissions.allowed_roles(operation))


def counts() -> dict[str, int]:
    """Rows of every Faktura table and of the audit log: what 'nothing changed' means."""
    return {
        model._meta.label: model._default_manager.count()
        for app in APPS
        for model in apps.get_app_config(app).get_models()
    }


def key_client(user: User, name: str | None = None, scopes: tuple[str, ...] = ("write",)) -> Any:
    _, secret = create_api_key(name=name or f"key-{user.username}", user=user, scopes=scopes)
    return ApiClient(secret)


def writing_routes() -> list[tuple[str, str]]:
    schema = ninja_api.get_openapi_schema()
    return [
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "patch", "put", "delete")
    ]


# --- the matrix itself -------------------------------------------------------------------


def test_the_documented_table_is_the_matrix():
    docs = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert docs.read_text(encoding="utf-8").endswith(permissions.markdown_table())


def test_every_writing_route_of_the_schema_has_a_rule():
    """A new POST/PATCH/PUT/DELETE route without a row in ROUTE_OPERATIONS fails here."""
    routes = {f"{method} {path}" for method, path in writing_routes()}
    assert routes == set(ROUTE_OPERATIONS)
    assert set(filter(None, ROUTE_OPERATIONS.values())) <= set(permissions.MATRIX)


def test_every_admin_page_and_action_has_a_rule():
    registered = {
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model in admin.site._registry
        if model.__module__.startswith("faktura.")  # not Django's users nor the task queue
    }
    assert registered == set(permissions.ADMIN_RULES)
    for model, model_admin in admin.site._registry.items():
        if not model.__module__.startswith("faktura."):
            continue  # django-axes' and django-otp's own pages (superusers only)
        for action in model_admin.actions or []:
            assert action.__name__ in permissions.ADMIN_ACTIONS, action
    assert set(permissions.ADMIN_ACTIONS.values()) <= set(permissions.MATRIX)


# --- the API: every writing route, every role --------------------------------------------


@pytest.fixture
def world(company):
    from faktura.catalog.services import create_product
    from faktura.customers.services import create_customer

    customer = create_customer(
        actor=SYSTEM,
        kind="business",
        name="Beispiel Handel AG",
        street="Hafenstraße",
        house_number="5",
        postcode="20457",
        city="Hamburg",
        email="buchhaltung@beispiel.de",
        vat_id="DE136695976",
    )
    product = create_product(
        actor=SYSTEM, sku="KURS-1", name="Kurs", unit_price="100.00", tax_rate="de-19"
    )
    return {"customer": customer.pk, "product": product.pk}


@pytest.fixture
def payment_request(world):
    """A manual payment a cashier entered, waiting for a second person."""
    from faktura.payments import services as payments
    from faktura.payments.models import PaymentSettings

    PaymentSettings.objects.create(require_payment_confirmation=True)
    cashier = Actor(label="user:kai", user_id=None, roles=frozenset({"cashier"}))
    request = payments.request_manual_payment(
        actor=cashier, amount="10.00", date="2026-11-16", method="cash"
    )
    return request.pk


def _request(method: str, path: str, world: dict[str, int]) -> tuple[str, Any]:
    """A valid request where the route creates master data or an order; ids elsewhere.

    Other routes get an id that does not exist: the permission is decided before the
    lookup, so a refused key gets 403 and an allowed one gets past it (404, 409, 422).
    """
    bodies: dict[str, Any] = {
        "POST /customers": {
            "kind": "consumer",
            "name": "Max Mustermann",
            "street": "Lindenweg",
            "house_number": "7",
            "postcode": "80331",
            "city": "München",
            "email": "max@example.org",
        },
        "PATCH /customers/{customer_id}": {"city": "Bremen"},
        "POST /products": {
            "sku": "KURS-2",
            "name": "Kurs 2",
            "unit_price": "50.00",
            "tax_rate": "de-19",
        },
        "PATCH /products/{product_id}": {"name": "Kurs neu"},
        "POST /orders": order_body(world["customer"]),
        "POST /payment-requests/{request_id}/reject": {"reason": "falsch erfasst"},
    }
    key = f"{method} {path}"
    concrete = path.replace("{customer_id}", str(world["customer"])).replace(
        "{product_id}", str(world["product"])
    )
    concrete = concrete.replace("{request_id}", str(world.get("payment_request", 999999)))
    for name in ("invoice_id", "payment_id", "allocation_id", "mandate_id"):
        concrete = concrete.replace("{" + name + "}", "999999")
    for name in ("batch_id", "transaction_id", "dispute_id", "agreement_id", "entry_id"):
        concrete = concrete.replace("{" + name + "}", "999999")
    for name in ("plan_id", "course_id", "subscription_id", "price_change_id"):
        concrete = concrete.replace("{" + name + "}", "999999")
    return concrete, bodies.get(key, {})


HAPPY = {
    "POST /customers",
    "PATCH /customers/{customer_id}",
    "POST /products",
    "PATCH /products/{product_id}",
    "POST /orders",
    "POST /payment-requests/{request_id}/confirm",
    "POST /payment-requests/{request_id}/reject",
}


@pytest.mark.parametrize("name", PEOPLE)
@pytest.mark.parametrize(
    "route", [f"{m} {p}" for m, p in writing_routes() if ROUTE_OPERATIONS.get(f"{m} {p}")]
)
def test_api_route_follows_the_matrix(world, payment_request, name, route):
    method, path = route.split(" ", 1)
    operation = ROUTE_OPERATIONS[route]
    client = key_client(person(name))
    concrete, body = _request(method, path, {**world, "payment_request": payment_request})
    before = counts()
    response = client.send(method, concrete, body)
    if allowed(name, operation):
        assert response.status_code not in (401, 403), (response.status_code, response.content)
        if route in HAPPY:
            assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403, (response.status_code, response.content)
        assert response.json()["code"] in REFUSAL_CODES
        assert counts() == before


@pytest.mark.parametrize("route", sorted(HAPPY))
def test_a_read_only_key_of_an_admin_changes_nothing(world, payment_request, route):
    method, path = route.split(" ", 1)
    client = key_client(person("superuser"), scopes=("read",))
    concrete, body = _request(method, path, {**world, "payment_request": payment_request})
    before = counts()
    response = client.send(method, concrete, body)
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert counts() == before


def test_a_viewer_key_cannot_resend_an_invoice_mail(world):
    """The send route refuses before looking at the document; the service refuses too."""
    from faktura.core.errors import PermissionRefused
    from faktura.notifications.services import queue_document_mail

    viewer = person("viewer")
    invoice = order_via_system(world)
    client = key_client(viewer)
    before = counts()
    response = client.send("POST", f"/invoices/{invoice}/send", {})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    with pytest.raises(PermissionRefused):
        queue_document_mail(invoice_id=invoice, actor=Actor.for_user(viewer), resend=True)
    assert counts() == before


def order_via_system(world: dict[str, int]) -> int:
    from faktura.invoicing import services as invoicing
    from faktura.sales.services import place_order
    from tests.invoicing.helpers import line

    draft = place_order(customer_id=world["customer"], actor=SYSTEM, lines=[line()])
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=SYSTEM).pk


# --- the services: each operation refuses every role the matrix does not name ------------


def _service_calls(world: dict[str, Any]) -> dict[str, Any]:
    from faktura.access import services as access
    from faktura.api import keys
    from faktura.banking import services as banking
    from faktura.catalog import services as catalog
    from faktura.collection import online as online_mandates
    from faktura.collection import services as collection
    from faktura.core import services as core
    from faktura.core.models import Company
    from faktura.customers import portal
    from faktura.customers import services as customers
    from faktura.documents import print_batch
    from faktura.documents import services as documents
    from faktura.dunning import collection_handover as handover
    from faktura.dunning import instalments
    from faktura.dunning import run as dunning_run
    from faktura.dunning import services as dunning
    from faktura.dunning import staff as dunning_staff
    from faktura.invoicing import services as invoicing
    from faktura.notifications import services as notifications
    from faktura.notifications import template_services
    from faktura.payments import providers, refunds, returns, statement_mail
    from faktura.payments import services as payments
    from faktura.reporting import services as retention
    from faktura.sales import services as sales
    from faktura.scheduling import services as scheduling
    from faktura.subscriptions import cancellation, notices, payment_choice
    from faktura.subscriptions import run as billing_run
    from faktura.subscriptions import services as subscriptions
    from faktura.webhooks import services as webhooks
    from tests.invoicing.helpers import line

    missing = 999999
    return {
        "billing.run": lambda a: billing_run.run_billing(billing_date=TODAY, actor=a),
        "settings.two_factor": lambda a: core.set_two_factor_required(actor=a, required=True),
        "two_factor.enrol": lambda a: core.start_totp_enrolment(
            actor=a, user_id=a.user_id or missing
        ),
        "billing.notices": lambda a: notices.send_notices(on=TODAY, actor=a),
        "billing.preview": lambda a: billing_run.preview_billing(billing_date=TODAY, actor=a),
        "dunning.run": lambda a: dunning_run.run_dunning(on=TODAY, actor=a),
        "account_statement.send": lambda a: statement_mail.send_account_statement(
            customer_id=missing, actor=a
        ),
        "dunning.approve": lambda a: dunning.approve_notice(notice_id=missing, actor=a),
        "dunning.fee": lambda a: dunning.waive_fee(fee_id=missing, reason="Kulanz", actor=a),
        "dunning.instalments": lambda a: instalments.cancel_instalment_agreement(
            agreement_id=missing, reason="Kulanz", actor=a
        ),
        "todo.done": lambda a: dunning_staff.mark_done(entry_id=missing, actor=a),
        "mail.retry": lambda a: notifications.retry_message(message_id=missing, actor=a),
        "mail_template.change": lambda a: template_services.reset_mail_template(
            actor=a, event="invoice_issued", language="de"
        ),
        "job.retry": lambda a: scheduling.retry_job_run(run_id=missing, actor=a),
        "collection.approve": lambda a: handover.approve_case(case_id=missing, actor=a),
        "collection.export": lambda a: handover.export_cases(actor=a, case_ids=[missing]),
        "invoice.create_draft": lambda a: sales.place_order(
            customer_id=world["customer"], actor=a, lines=[line()]
        ),
        "invoice.finalize": lambda a: invoicing.finalize_invoice(
            invoice_id=world["draft"], actor=a
        ),
        "invoice.discard": lambda a: invoicing.discard_draft(invoice_id=world["draft"], actor=a),
        "invoice.approve": lambda a: invoicing.approve_invoice(
            invoice_id=world["pending"], actor=a
        ),
        "invoice.correct": lambda a: invoicing.cancel_invoice(invoice_id=missing, actor=a),
        "invoice.send": lambda a: notifications.queue_document_mail(
            invoice_id=missing, actor=a, resend=True
        ),
        "print_batch.create": lambda a: print_batch.create_print_batch(on=TODAY, actor=a),
        "document.block": lambda a: documents.block_delivery(
            invoice_id=missing, reason="x", rule_ids=[], actor=a
        ),
        "customer.create": lambda a: customers.create_customer(actor=a, name="Neu"),
        "customer.change": lambda a: customers.update_customer(
            customer_id=world["customer"], actor=a, city="Bremen"
        ),
        "portal.open_account": lambda a: portal.open_portal_account(customer_id=missing, actor=a),
        "portal.change_contact": lambda a: customers.change_own_contact(
            customer_id=missing, actor=a, city="Bremen"
        ),
        "payment.checkout": lambda a: providers.start_checkout(
            invoice_id=missing, actor=a, success_url="https://x/ok", cancel_url="https://x/no"
        ),
        "product.create": lambda a: catalog.create_product(actor=a, sku="NEU"),
        "product.change": lambda a: catalog.update_product(
            product_id=world["product"], actor=a, name="Neu"
        ),
        "master_data.change": lambda a: core.save_master_data(
            actor=a, instance=Company.get(), changed=["city"], operation="master_data.change"
        ),
        "settings.four_eyes": lambda a: core.set_four_eyes(actor=a, required=False),
        "maintenance.switch": lambda a: core.set_maintenance(actor=a, active=True),
        "api_key.manage": lambda a: keys.create_api_key(
            name="neu", user=world["key_owner"], scopes=["read"], actor=a
        ),
        "user.manage": lambda a: core.set_user_roles(actor=a, user_id=missing, roles=["viewer"]),
        "payment.record": lambda a: payments.allocate_payment(
            payment_id=missing, allocations=[], actor=a
        ),
        "payment.release_allocation": lambda a: payments.release_allocation(
            allocation_id=missing, actor=a, reason="x"
        ),
        "payment.write_off": lambda a: payments.write_off(
            invoice_id=missing, amount="1.00", reason="x", actor=a
        ),
        "payment.confirm": lambda a: payments.confirm_payment_request(
            request_id=world["payment_request"], actor=a
        ),
        "payment.return": lambda a: returns.clear_dispute(dispute_id=missing, actor=a),
        "payment_method.change": lambda a: payments.deactivate_payment_method(
            method_id=missing, actor=a
        ),
        "payment.charge_saved_method": lambda a: payments.request_off_session_charges(
            charges=[(missing, missing)], actor=a
        ),
        "refund.request": lambda a: refunds.refund_credit(customer_id=missing, actor=a),
        "refund.approve": lambda a: refunds.approve_refund(refund_id=missing, actor=a),
        "refund_batch.create": lambda a: refunds.discard_refund_batch(batch_id=missing, actor=a),
        "mandate.change": lambda a: collection.revoke_mandate(mandate_id=missing, actor=a),
        "direct_debit.create": lambda a: collection.discard_direct_debit_batch(
            batch_id=missing, actor=a
        ),
        "statement.import": lambda a: banking.import_statement(data=b"", actor=a),
        "bank_transaction.assign": lambda a: banking.ignore_transaction(
            transaction_id=missing, actor=a, reason="x"
        ),
        "plan.manage": lambda a: subscriptions.create_plan(
            actor=a, code="neu", name="Neu", sku="KURS-1", interval="month", price="10.00"
        ),
        "subscription.manage": lambda a: subscriptions.create_subscription(
            actor=a, customer_id=world["customer"], plan_id=missing
        ),
        "subscription.self_service": lambda a: subscriptions.pause_own_subscription(
            actor=a, subscription_id=missing
        ),
        "cancellation_request.process": lambda a: cancellation.process_request(
            actor=a, request_id=missing
        ),
        "mandate.grant_online": lambda a: online_mandates.revoke_mandate(
            actor=a, mandate_id=missing
        ),
        "payment_method.choose": lambda a: payment_choice.choose_payment_method(
            actor=a, customer_id=world["customer"], method="cheque"
        ),
        "access.manage": lambda a: access.lift(block_id=missing, actor=a, why="x"),
        "retention.legal_hold": lambda a: retention.set_legal_hold(
            customer_id=missing, reason="Betriebsprüfung", actor=a
        ),
        "retention.purge": lambda a: retention.purge_expired(on=TODAY, actor=a, dry_run=True),
        "webhook.manage": lambda a: webhooks.redeliver(delivery_id=missing, actor=a),
    }


# Operations whose service has no actor (the API route is its only door).
FRONT_DOOR_ONLY: set[str] = set()


@pytest.fixture
def service_world(world, company, payment_request):
    from faktura.sales.services import place_order
    from tests.invoicing.helpers import line

    company.approval_for_manual_invoices = True
    company.save()
    draft = place_order(customer_id=world["customer"], actor=SYSTEM, lines=[line()])
    pending = place_order(
        customer_id=world["customer"], actor=SYSTEM, lines=[line()], source="manual"
    )
    owner = User.objects.create_user("key-owner", password="pw-12345678")
    return {
        **world,
        "draft": draft.pk,
        "pending": pending.pk,
        "payment_request": payment_request,
        "key_owner": owner,
    }


def test_every_operation_has_a_service_check():
    assert set(_service_calls({})) | FRONT_DOOR_ONLY == set(permissions.MATRIX)


@pytest.mark.parametrize("name", PEOPLE)
@pytest.mark.parametrize("operation", sorted(set(permissions.MATRIX) - FRONT_DOOR_ONLY))
def test_service_enforces_the_matrix(service_world, name, operation):
    from faktura.core.errors import DomainError, PermissionRefused

    if name == "superuser":
        actor = Actor.for_user(person("superuser"))
    else:
        actor = Actor(label=f"user:{name}", user_id=None, roles=frozenset({name}))
    call = _service_calls(service_world)[operation]
    before = counts()
    if allowed(name, operation):
        try:
            call(actor)
        except PermissionRefused as error:  # pragma: no cover - the failure we look for
            pytest.fail(f"{name} was refused {operation}: {error.code}")
        except DomainError:
            pass  # past the permission check: the missing object or bad input answers
    else:
        with pytest.raises(PermissionRefused) as refused:
            call(actor)
        assert refused.value.code in REFUSAL_CODES
        assert counts() == before


# --- the admin: every page and action, every role ----------------------------------------


def _admin_request(user: User) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


SINGLETONS = {
    "core.company",
    "core.maintenancemode",
    "documents.letterhead",
    "dunning.noticesettings",
    "payments.paymentsettings",
    "subscriptions.billingsettings",
}


@pytest.mark.parametrize("name", PEOPLE)
def test_admin_offers_exactly_what_the_matrix_allows(company, name):
    user = person(name)
    request = _admin_request(user)
    client = Client()
    client.force_login(user)
    for model, model_admin in admin.site._registry.items():
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if not model.__module__.startswith("faktura."):
            continue
        rules = permissions.ADMIN_RULES[label]
        singleton_taken = label in SINGLETONS and model._default_manager.exists()
        expect_add = allowed(name, rules["add"]) and not singleton_taken
        assert model_admin.has_add_permission(request) == expect_add, (name, label)
        assert model_admin.has_change_permission(request) == allowed(name, rules["change"]), (
            name,
            label,
        )
        assert model_admin.has_delete_permission(request) == allowed(name, rules["delete"]), (
            name,
            label,
        )
        add_url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        status = client.get(add_url).status_code
        # The admin is the superuser's; staff with roles are sent to its sign-in page. The
        # ModelAdmin answers above still follow the matrix: a second line behind that door.
        expect_status = (200 if expect_add else 403) if name == "superuser" else 302
        assert status == expect_status, (name, label, status)
        offered = set(model_admin.get_actions(request))
        expected = {
            action.__name__
            for action in model_admin.actions or []
            if allowed(name, permissions.ADMIN_ACTIONS[action.__name__])
        }
        if allowed(name, rules["delete"]) and label != "invoicing.invoice":
            expected.add("delete_selected")
        assert offered == expected, (name, label)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#1f4e79").save(buffer, format="PNG")
    return buffer.getvalue()


def _letterhead_form(png: bytes) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        "logo": SimpleUploadedFile("logo.png", png, content_type="image/png"),
        "accent_colour": "#1f4e79",
        "show_footer": "on",
    }


def test_a_superuser_uploads_a_letterhead_through_the_admin(company, settings, tmp_path):
    from faktura.documents.models import Letterhead

    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(person("superuser"))
    png = _png()
    response = client.post(reverse("admin:documents_letterhead_add"), _letterhead_form(png))
    assert response.status_code == 302, response.content[:2000]
    letterhead = Letterhead.objects.get()
    with letterhead.logo.open("rb") as stored:
        assert stored.read() == png
    entry = AuditEntry.objects.get(action="letterhead.created")
    assert entry.actor == "user:superuser"


@pytest.mark.parametrize("name", ["viewer", "accountant"])
def test_staff_without_superuser_cannot_use_the_admin(company, settings, tmp_path, name):
    from faktura.documents.models import Letterhead

    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(person(name))
    before = counts()
    response = client.post(reverse("admin:documents_letterhead_add"), _letterhead_form(_png()))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("admin:payments_paymentsettings_add")).status_code == 302
    changed = client.post(
        reverse("admin:core_company_change", args=[company.pk]), {"legal_name": "Fremd GmbH"}
    )
    assert changed.status_code == 302
    page = client.get(reverse("admin:login")).content.decode()
    assert "aber nicht autorisiert" in page  # Django's own words: signed in, not for this
    assert not Letterhead.objects.exists()
    assert counts() == before


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_a_viewer_is_not_offered_delete_and_deletes_nothing(world):
    from faktura.invoicing.models import Invoice
    from faktura.sales.services import place_order
    from tests.invoicing.helpers import line

    draft = place_order(customer_id=world["customer"], actor=SYSTEM, lines=[line()])
    client = Client()
    client.force_login(person("viewer"))
    before = counts()
    delete_url = reverse("admin:invoicing_invoice_delete", args=[draft.pk])
    assert client.get(delete_url).status_code == 302  # the admin is the superuser's
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    for action in ("delete_selected", "discard"):
        response = client.post(
            reverse("admin:invoicing_invoice_changelist"),
            {"action": action, "_selected_action": [draft.pk], "post": "yes"},
            follow=True,
        )
        assert not any("gelöscht" in m or "bearbeitet" in m for m in _messages(response))
    assert Invoice.objects.filter(pk=draft.pk).exists()
    assert counts() == before


def test_bulk_discard_reports_each_refusal_and_only_what_was_done(world):
    from faktura.invoicing.models import Invoice

    finalized = order_via_system(world)
    from faktura.sales.services import place_order
    from tests.invoicing.helpers import line

    draft = place_order(customer_id=world["customer"], actor=SYSTEM, lines=[line()])
    client = Client()
    client.force_login(person("superuser"))
    response = client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "discard", "_selected_action": [draft.pk, finalized]},
        follow=True,
    )
    texts = _messages(response)
    assert any("RE-2026-00001" in t for t in texts), texts
    assert any(t.startswith("1 ") for t in texts), texts
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert Invoice.objects.filter(pk=finalized).exists()


# --- four eyes: by person, whatever the channel ------------------------------------------


@pytest.fixture
def pending(company, world):
    """Place an order that needs approval, through ``client``; return its invoice id."""
    company.approval_threshold = Decimal("100.00")
    company.save()

    def place(client: Any) -> int:
        response = client.send("POST", "/orders", order_body(world["customer"]))
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "pending_approval"
        return int(response.json()["id"])

    return place


def _status(invoice_id: int) -> str:
    from faktura.invoicing.models import Invoice

    return Invoice.objects.get(pk=invoice_id).status


def test_one_person_with_two_keys_cannot_approve_his_own_invoice(pending):
    anna = person("accountant")
    anna.groups.add(Group.objects.get_or_create(name="approver")[0])
    invoice = pending(key_client(anna, "shop"))
    desk, desk_2 = key_client(anna, "desk"), key_client(anna, "desk-2")
    before = counts()
    response = desk.send("POST", f"/invoices/{invoice}/approve")
    assert (response.status_code, response.json()["code"]) == (403, "approver_is_creator")
    refused = desk_2.send("POST", f"/invoices/{invoice}/reject", {"reason": "nein"})
    assert (refused.status_code, refused.json()["code"]) == (403, "approver_is_creator")
    assert _status(invoice) == "pending_approval"
    assert counts() == before


def test_the_creator_cannot_approve_in_the_admin(pending):
    anna = person("superuser")
    invoice = pending(key_client(anna, "shop"))
    client = Client()
    client.force_login(anna)
    response = client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "approve", "_selected_action": [invoice]},
        follow=True,
    )
    assert any("four-eyes" in m for m in _messages(response))
    assert _status(invoice) == "pending_approval"


def test_a_superuser_cannot_approve_what_his_own_key_created(pending):
    boss = person("superuser")
    invoice = pending(key_client(boss, "boss-shop"))
    response = key_client(boss, "boss-desk").send("POST", f"/invoices/{invoice}/approve")
    assert (response.status_code, response.json()["code"]) == (403, "approver_is_creator")
    client = Client()
    client.force_login(boss)
    client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "approve", "_selected_action": [invoice]},
    )
    assert _status(invoice) == "pending_approval"


def test_another_person_approves(pending):
    invoice = pending(key_client(person("accountant"), "shop"))
    response = key_client(person("approver"), "desk").send("POST", f"/invoices/{invoice}/approve")
    assert response.status_code == 200, response.content
    assert _status(invoice) == "approved"


def test_an_admin_switches_four_eyes_off_audited_then_one_person_may_approve(company, pending):
    boss = person("superuser")
    accountant = person("accountant")
    client = Client()
    client.force_login(accountant)
    page = client.get(reverse("admin:core_company_change", args=[company.pk]))
    assert page.status_code == 302  # the admin is the superuser's

    client.force_login(boss)
    page = client.get(reverse("admin:core_company_change", args=[company.pk]))
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data.update({k: v for k, v in data.items() if isinstance(v, bool) and v})
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data.pop("four_eyes_required", None)
    data.update(
        {
            "bank_accounts-TOTAL_FORMS": "0",
            "bank_accounts-INITIAL_FORMS": "0",
        }
    )
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    data[f"{prefix}-TOTAL_FORMS"] = "0"
    data[f"{prefix}-INITIAL_FORMS"] = "0"
    response = client.post(reverse("admin:core_company_change", args=[company.pk]), data)
    assert response.status_code == 302, response.content[:3000]
    company.refresh_from_db()
    assert company.four_eyes_required is False
    entry = AuditEntry.objects.get(action="company.four_eyes_changed")
    assert (entry.actor, entry.data) == ("user:superuser", {"old": True, "new": False})

    invoice = pending(key_client(boss, "boss-shop"))
    response = key_client(boss, "boss-desk").send("POST", f"/invoices/{invoice}/approve")
    assert response.status_code == 200, response.content


def test_a_refund_is_not_approved_by_who_requested_it_under_another_label(company):
    from faktura.core.errors import PermissionRefused
    from faktura.payments import refunds
    from faktura.payments.models import Refund

    user = person("superuser")
    as_key = Actor(label="api:shop", user_id=user.pk, roles=frozenset({"admin"}))
    in_admin = Actor.for_user(user)
    refund = Refund.objects.create(
        customer_id=_customer(),
        amount=Decimal("10.00"),
        account_holder="Max",
        iban="DE02120300000000202051",
        requested_by=as_key.label,
        requested_by_user_id=as_key.user_id,
        requested_at=_now(),
    )
    with pytest.raises(PermissionRefused) as refused:
        refunds.approve_refund(refund_id=refund.pk, actor=in_admin)
    assert refused.value.code == "approver_is_creator"
    assert Refund.objects.get(pk=refund.pk).status == "requested"


def _customer() -> int:
    from faktura.customers.services import create_customer

    return create_customer(
        actor=SYSTEM,
        kind="consumer",
        name="Max",
        street="Lindenweg",
        house_number="7",
        postcode="80331",
        city="München",
        email="max@example.org",
    ).pk


def _now() -> Any:
    from faktura.core import clock

    return clock.now()
