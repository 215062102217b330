"""Aufbewahrungssperre: set and cleared with a reason, audited, permission-checked, through
the service, the API and the back office."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site

from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.reporting import services
from faktura.reporting.models import LegalHold
from tests.banking.helpers import api_client

pytestmark = pytest.mark.django_db

VIEWER = Actor(label="user:vera", roles=frozenset({"viewer"}))


def test_a_hold_is_set_and_cleared_with_reasons_and_audited(business_customer, actor):
    hold = services.set_legal_hold(
        customer_id=business_customer.pk, reason="  Betriebsprüfung 2026  ", actor=actor
    )
    assert (hold.reason, hold.set_by, hold.active) == ("Betriebsprüfung 2026", "user:anna", True)
    cleared = services.clear_legal_hold(
        customer_id=business_customer.pk, reason="Prüfung beendet", actor=actor
    )
    assert (cleared.pk, cleared.active, cleared.clear_reason) == (hold.pk, False, "Prüfung beendet")
    entries = AuditEntry.objects.filter(object_type="legal_hold").order_by("pk")
    assert [(e.action, e.data["reason"], e.chain.key) for e in entries] == [
        ("legal_hold.set", "Betriebsprüfung 2026", f"customer:{business_customer.pk}"),
        ("legal_hold.cleared", "Prüfung beendet", f"customer:{business_customer.pk}"),
    ]
    # A new hold after the old one ended: the history keeps both.
    services.set_legal_hold(customer_id=business_customer.pk, reason="Klage", actor=actor)
    assert LegalHold.objects.filter(customer=business_customer).count() == 2


def test_refusals_change_nothing(business_customer, actor):
    with pytest.raises(PermissionRefused):
        services.set_legal_hold(customer_id=business_customer.pk, reason="x", actor=VIEWER)
    with pytest.raises(InvalidInput) as no_reason:
        services.set_legal_hold(customer_id=business_customer.pk, reason="  ", actor=actor)
    assert no_reason.value.code == "reason_required"
    with pytest.raises(NotFound):
        services.set_legal_hold(customer_id=999999, reason="x", actor=actor)
    with pytest.raises(StateConflict) as nothing_to_clear:
        services.clear_legal_hold(customer_id=business_customer.pk, reason="x", actor=actor)
    assert nothing_to_clear.value.code == "no_legal_hold"
    assert LegalHold.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="legal_hold").exists()
    services.set_legal_hold(customer_id=business_customer.pk, reason="Prüfung", actor=actor)
    with pytest.raises(StateConflict) as twice:
        services.set_legal_hold(customer_id=business_customer.pk, reason="noch mal", actor=actor)
    assert twice.value.code == "legal_hold_active"
    assert LegalHold.objects.count() == 1


def test_the_api_sets_reads_and_clears_a_hold(business_customer):
    client = api_client("accountant")
    path = f"/customers/{business_customer.pk}/legal-hold"
    assert client.get_json(path).json() == {"active": False, "hold": None}
    made = client.send("POST", path, {"reason": "Betriebsprüfung"})
    assert made.status_code == 201, made.json()
    assert made.json()["active"] is True
    assert made.json()["hold"]["reason"] == "Betriebsprüfung"
    assert made.json()["hold"]["set_at"] == "2026-11-16T09:00:00Z"
    again = client.send("POST", path, {"reason": "noch mal"})
    assert (again.status_code, again.json()["code"]) == (409, "legal_hold_active")
    cleared = client.send("POST", f"{path}/clear", {"reason": "erledigt"})
    assert cleared.status_code == 200, cleared.json()
    assert cleared.json()["active"] is False
    assert cleared.json()["hold"]["clear_reason"] == "erledigt"


def test_the_api_refuses_a_viewer_and_an_empty_reason(business_customer):
    path = f"/customers/{business_customer.pk}/legal-hold"
    viewer = api_client("viewer", name="viewer")
    refused = viewer.send("POST", path, {"reason": "x"})
    assert refused.status_code == 403
    empty = api_client("accountant").send("POST", path, {"reason": ""})
    assert empty.status_code == 422
    assert LegalHold.objects.count() == 0


def test_the_back_office_offers_the_hold_and_its_clearing_by_the_matrix(rf):
    from django.contrib.auth.models import AnonymousUser

    admin = site._registry[LegalHold]
    assert "clear_legal_holds" in {getattr(action, "__name__", action) for action in admin.actions}
    request = rf.get("/")
    request.user = AnonymousUser()
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)
