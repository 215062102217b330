"""Maintenance mode: every write refused at every door, reads go on, scheduled jobs wait and
catch up once after it ends."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from faktura.api.keys import create_api_key
from faktura.core import maintenance
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry, Company, MaintenanceMode
from faktura.core.services import set_maintenance
from faktura.customers.models import Customer
from faktura.scheduling import runner
from faktura.scheduling.models import JobRun
from faktura.scheduling.registry import Job
from tests.api.conftest import ApiClient, make_user, order_body
from tests.scheduling.test_runner import at, tick
from tests.scheduling.testjobs import calls, daily

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("test")
CUSTOMER = {
    "kind": "consumer",
    "name": "Max Mustermann",
    "street": "Lindenweg",
    "house_number": "7",
    "postcode": "80331",
    "city": "München",
    "email": "max@example.org",
}


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("maintenance", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()
    yield
    calls.clear()


# --- the switch ------------------------------------------------------------------------


def test_the_command_switches_on_and_off_audited(db):
    assert command("status") == "maintenance: off\n"
    assert command("on", "--message", "bis 18:00 Uhr") == (
        "maintenance: on since 2026-11-16 09:00:00 UTC (by system:maintenance-command)\n"
        "message: bis 18:00 Uhr\n"
    )
    assert maintenance.is_active()
    assert command("status").startswith("maintenance: on since 2026-11-16 09:00:00 UTC")
    assert command("on", "--message", "bis 18:00 Uhr").startswith("maintenance: on")
    assert command("off") == "maintenance: off\n"
    assert not maintenance.is_active()
    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "actor", "data"))
    # Switching on twice with the same message records it once.
    assert entries == [
        (
            "maintenance.switched_on",
            "system:maintenance-command",
            {
                "before": {"active": False, "message": ""},
                "after": {"active": True, "message": "bis 18:00 Uhr"},
            },
        ),
        (
            "maintenance.switched_off",
            "system:maintenance-command",
            {
                "before": {"active": True, "message": "bis 18:00 Uhr"},
                "after": {"active": False, "message": ""},
            },
        ),
    ]


def test_the_command_refuses_a_message_too_long(db):
    with pytest.raises(CommandError, match="at most 500 characters"):
        command("on", "--message", "x" * 501)
    assert not MaintenanceMode.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["accountant", "approver", "cashier", "viewer"])
def test_only_an_admin_may_switch(db, role):
    with pytest.raises(PermissionRefused):
        set_maintenance(actor=Actor(label="user:x", roles=frozenset({role})), active=True)
    assert not maintenance.is_active()
    assert not AuditEntry.objects.exists()
    set_maintenance(actor=Actor(label="user:root", roles=frozenset({"admin"})), active=True)
    assert maintenance.is_active()


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api(company) -> ApiClient:
    user = make_user("anna", "accountant")
    return ApiClient(create_api_key(name="shop", user=user, scopes=["read", "write"])[1])


@pytest.fixture
def customer(api) -> dict:
    response = api.send("POST", "/customers", {**CUSTOMER, "city": "Hamburg"})
    assert response.status_code == 201
    return response.json()


def test_api_writes_get_503_maintenance_and_change_nothing_reads_go_on(api, customer):
    before = Customer.objects.count()
    set_maintenance(actor=ADMIN, active=True, message="Datenbank-Umzug bis 18:00 Uhr")
    response = api.send("POST", "/customers", CUSTOMER)
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    body = response.json()
    assert body["code"] == "maintenance"
    assert body["field"] is None
    assert body["message"].startswith("Faktura wird gerade gewartet")
    assert "Faktura is under maintenance" in body["message"]
    assert body["message"].endswith("– Datenbank-Umzug bis 18:00 Uhr")
    for method, path, payload in (
        ("PATCH", f"/customers/{customer['id']}", {"city": "Bremen"}),
        ("POST", "/orders", order_body(customer["id"])),
        ("DELETE", f"/customers/{customer['id']}", None),
        ("PUT", f"/customers/{customer['id']}", {"city": "Bremen"}),
    ):
        refused = api.send(method, path, payload)
        assert (refused.status_code, refused.json()["code"]) == (503, "maintenance")
    assert Customer.objects.count() == before
    assert Customer.objects.get(pk=customer["id"]).city == customer["city"] == "Hamburg"

    assert api.get_json("/customers").status_code == 200
    assert api.get_json(f"/customers/{customer['id']}").json()["city"] == "Hamburg"

    set_maintenance(actor=ADMIN, active=False)
    assert api.send("POST", "/customers", CUSTOMER).status_code == 201


def test_the_retry_after_comes_from_the_settings(api, settings, company):
    settings.FAKTURA_MAINTENANCE_RETRY_AFTER_SECONDS = 1800
    set_maintenance(actor=ADMIN, active=True)
    assert api.send("POST", "/customers", CUSTOMER)["Retry-After"] == "1800"


# --- the admin and every other page -----------------------------------------------------


@pytest.fixture
def admin_user(company) -> User:
    return User.objects.create_superuser("root", "root@example.org", "pw-12345678")


def test_admin_writes_get_a_503_page_reads_and_sign_in_go_on(admin_user, company):
    set_maintenance(actor=ADMIN, active=True)
    browser = Client()
    # Signing in writes no business data: staff can still read during maintenance.
    signed_in = browser.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "pw-12345678"}
    )
    assert signed_in.status_code == 302
    assert browser.get("/admin/core/company/").status_code == 200
    page = browser.get(f"/admin/core/company/{company.pk}/change/")
    assert page.status_code == 200

    refused = browser.post(
        f"/admin/core/company/{company.pk}/change/", {"legal_name": "Andere GmbH"}
    )
    assert refused.status_code == 503
    assert refused["Retry-After"] == "300"
    assert refused["Content-Type"] == "text/html; charset=utf-8"
    assert "Faktura wird gerade gewartet" in refused.content.decode()
    assert Company.objects.get().legal_name == "Muster Software GmbH"
    # Any other page (back office, portal, whatever comes): the same refusal.
    assert browser.post("/portal/anything", {}).status_code == 503
    assert browser.delete("/").status_code == 503


def test_health_and_metrics_stay_open_during_maintenance(db):
    set_maintenance(actor=ADMIN, active=True)
    client = Client()
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 200
    # A POST there is refused by the view itself (405), not by maintenance.
    assert client.post("/health/live").status_code == 405


# --- the scheduler ---------------------------------------------------------------------


def hourly(name: str, catch_up: str) -> Job:
    return Job(name=name, schedule="0 * * * *", target="tests.scheduling.testjobs.record",
               description="a test job", catch_up=catch_up)  # type: ignore[arg-type]  # fmt: skip


def test_the_scheduler_runs_nothing_in_maintenance_and_catches_up_once_after(db):
    billing = daily("billing", catch_up="each")
    sweep = hourly("sweep", catch_up="latest")
    jobs = [billing, sweep]
    assert tick(at(16, 12), jobs) == []  # the jobs are known from now on

    set_maintenance(actor=ADMIN, active=True)
    # Two days of due times pass: 05:00 on the 17th and 18th, every hour for the sweep.
    for moment in (at(17, 5), at(17, 6), at(18, 5, 30), at(18, 9)):
        assert tick(moment, jobs) == []
        assert runner.tick("w2", jobs=jobs) == []  # another worker, same answer
    assert calls == []
    assert not JobRun.objects.exists()

    set_maintenance(actor=ADMIN, active=False)
    runs = tick(at(18, 9, 10), jobs)
    assert sorted((r.job, r.as_of.isoformat(), r.state) for r in runs) == [
        ("billing", "2026-11-17", "succeeded"),
        ("billing", "2026-11-18", "succeeded"),
        ("sweep", "2026-11-18", "succeeded"),
    ]
    # The sweep's latest run covers the missed hours: it runs once, for 09:00.
    assert JobRun.objects.get(job="sweep").due_at == at(18, 9)
    # No duplicates: other workers and later ticks find nothing more to do.
    assert tick(at(18, 9, 11), jobs, worker="w2") == []
    assert tick(at(18, 9, 20), jobs, worker="w3") == []
    assert sorted(calls) == [
        ("billing", dt.date(2026, 11, 17), 1),
        ("billing", dt.date(2026, 11, 18), 1),
        ("sweep", dt.date(2026, 11, 18), 1),
    ]
    assert JobRun.objects.count() == 3


def test_a_failed_run_is_not_retried_during_maintenance(db):
    job = daily("flaky", target="fail_first_attempt")
    tick(at(16, 12), [job])
    [failed] = tick(at(17, 5), [job])
    assert failed.retry_pending
    set_maintenance(actor=ADMIN, active=True)
    assert tick(at(17, 6), [job]) == []
    set_maintenance(actor=ADMIN, active=False)
    [retried] = tick(at(17, 6), [job])
    assert (retried.state, retried.attempts) == ("succeeded", 2)


def test_an_admin_switches_maintenance_off_in_the_admin_audited(admin_user):
    set_maintenance(actor=ADMIN, active=True, message="Umzug")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/core/maintenancemode/{MaintenanceMode.SINGLETON}/change/"
    response = browser.post(url, {"message": ""})  # "active" unticked
    assert response.status_code == 302
    assert not maintenance.is_active()
    entry = AuditEntry.objects.get(action="maintenance.switched_off")
    assert entry.actor == "user:root"
    # And on again: the refusals start at once, the admin page itself stays open.
    assert browser.post(url, {"active": "on", "message": "bis 18 Uhr"}).status_code == 302
    assert MaintenanceMode.objects.get().message == "bis 18 Uhr"
    assert browser.post("/admin/core/company/add/", {}).status_code == 503


def test_staff_without_the_admin_role_cannot_switch_in_the_admin(company):
    from django.contrib.auth.models import Group

    set_maintenance(actor=ADMIN, active=True)
    accountant = User.objects.create_user("anna", password="pw-12345678", is_staff=True)
    accountant.groups.add(Group.objects.get_or_create(name="accountant")[0])
    browser = Client()
    browser.force_login(accountant)
    url = f"/admin/core/maintenancemode/{MaintenanceMode.SINGLETON}/change/"
    assert browser.post(url, {"message": ""}).status_code == 302  # the admin is superusers'

    assert maintenance.is_active()
    assert AuditEntry.objects.filter(action="maintenance.switched_off").count() == 0


def test_a_worker_starts_no_periodic_run_in_maintenance(db):
    from faktura.scheduling.models import JobState
    from faktura.workers import maintenance as upkeep

    set_maintenance(actor=ADMIN, active=True)
    upkeep.tick_scheduler("worker-1")  # what `faktura worker`'s scheduler thread calls
    assert not JobRun.objects.exists()
    assert not JobState.objects.exists()
    set_maintenance(actor=ADMIN, active=False)
    upkeep.tick_scheduler("worker-1")
    assert JobState.objects.count() > 0


def test_the_back_office_signs_in_and_reads_but_refuses_writes(company):
    from django.contrib.auth.models import Group, User

    from faktura.banking.models import BankStatement

    user = User.objects.create_user("buchhaltung", password="pw-12345678")
    user.groups.add(Group.objects.get_or_create(name="accountant")[0])
    set_maintenance(actor=ADMIN, active=True)
    browser = Client()
    signed_in = browser.post("/login/", {"username": "buchhaltung", "password": "pw-12345678"})
    assert signed_in.status_code == 302
    assert browser.get("/").status_code == 200
    refused = browser.post("/bank/", {"file": ""})
    assert refused.status_code == 503
    assert "Faktura wird gerade gewartet" in refused.content.decode()
    assert not BankStatement.objects.exists()
