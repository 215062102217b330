"""Dunning in the admin (superusers only): notices approved or cancelled and fees waived by
action; staff with roles only are kept out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from faktura.dunning import services
from faktura.dunning.models import DunningFee, DunningLevel, DunningNotice
from tests.dunning.helpers import overdue, run

pytestmark = pytest.mark.django_db
D = dt.date


def superuser() -> Client:
    user = User.objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def staff(name: str, *roles: str) -> Client:
    user = User.objects.create_user(username=name, password="pw-12345678", is_staff=True)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def proposals(business_customer, actor) -> list[int]:
    DunningLevel.objects.filter(policy__name="Unternehmen").update(review_required=True)
    overdue(business_customer, actor, due=D(2026, 10, 1))
    overdue(business_customer, actor, due=D(2026, 10, 2), price="50.00")
    run(D(2026, 10, 9))
    return list(DunningNotice.objects.order_by("pk").values_list("pk", flat=True))


def test_a_superuser_approves_a_proposal_in_the_admin(proposals):
    client = superuser()
    url = reverse("admin:dunning_dunningnotice_changelist")
    response = client.post(
        url, {"action": "approve_notices", "_selected_action": proposals}, follow=True
    )
    assert response.status_code == 200
    assert list(DunningNotice.objects.values_list("status", flat=True)) == ["sent"]
    assert any(t.startswith("1 ") for t in messages_of(response))


def test_cancel_needs_the_reason_typed_beside_the_action(proposals):
    client = superuser()
    url = reverse("admin:dunning_dunningnotice_changelist")
    refused = client.post(
        url, {"action": "cancel_notices", "_selected_action": proposals, "reason": ""}, follow=True
    )
    assert any("Say why" in t for t in messages_of(refused))
    assert DunningNotice.objects.get().status == "proposed"
    client.post(
        url,
        {"action": "cancel_notices", "_selected_action": proposals, "reason": "Kulanz"},
        follow=True,
    )
    notice = DunningNotice.objects.get()
    assert (notice.status, notice.cancel_reason) == ("cancelled", "Kulanz")


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_staff_with_roles_are_kept_out_of_the_admin_and_change_nothing(proposals, role):
    client = staff("vera", role)
    url = reverse("admin:dunning_dunningnotice_changelist")
    response = client.post(url, {"action": "approve_notices", "_selected_action": proposals})
    assert response.status_code == 302
    assert DunningNotice.objects.get().status == "proposed"


def test_a_superuser_waives_a_fee_in_the_admin(business_customer, actor):
    fee = services.add_fee(
        customer_id=business_customer.pk, amount="5.00", reason="Adresse", actor=actor
    )
    client = superuser()
    client.post(
        reverse("admin:dunning_dunningfee_changelist"),
        {"action": "waive_fees", "_selected_action": [fee.pk], "reason": "Kulanz"},
        follow=True,
    )
    fee = DunningFee.objects.get(pk=fee.pk)
    assert (fee.is_open, fee.waived_reason) == (False, "Kulanz")


def test_pages_show_policies_runs_and_rates(proposals):
    client = superuser()
    for name in ["dunningpolicy", "dunningrun", "baserate", "dunningnotice", "dunningfee"]:
        assert client.get(reverse(f"admin:dunning_{name}_changelist")).status_code == 200, name
    policy = DunningLevel.objects.filter(policy__name="Unternehmen").first().policy_id
    page = client.get(reverse("admin:dunning_dunningpolicy_change", args=[policy]))
    assert page.status_code == 200
    assert "Letzte Mahnung" in page.content.decode()
