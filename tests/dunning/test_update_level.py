"""Changing a level: the service checks days, fees and texts, refuses other roles, audits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, PermissionRefused
from faktura.core.models import AuditEntry
from faktura.dunning import services
from faktura.dunning.models import DunningLevel, DunningPolicy

pytestmark = pytest.mark.django_db

words = st.text(alphabet="abcdefg ,.\n", max_size=20)
known = st.sampled_from(sorted(services.PLACEHOLDERS))


def _policy() -> int:
    return DunningPolicy.objects.get(name="Verbraucher").pk


@given(parts=st.lists(st.tuples(words, known, st.booleans()), max_size=5), tail=words)
def test_texts_of_known_placeholders_are_accepted(parts, tail):
    text = "".join(f"{w}${{{p}}}" if braced else f"{w}${p} " for w, p, braced in parts) + tail
    if text.strip():
        assert services._level_value("text_de", text) == text


@given(name=st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True))
def test_an_unknown_placeholder_is_refused(name):
    text = f"Offen: ${name} EUR"
    if name in services.PLACEHOLDERS:
        assert services._level_value("text_en", text) == text
    else:
        with pytest.raises(InvalidInput) as refused:
            services._level_value("text_en", text)
        assert refused.value.code == "unknown_placeholder"


def test_accountant_changes_a_level_audited(company, actor):
    level = services.update_level(
        policy_id=_policy(), number=1, actor=actor, fee_consumer="3.00", days=10
    )
    assert (level.fee_consumer, level.days) == (Decimal("3.00"), 10)
    stored = DunningLevel.objects.get(pk=level.pk)
    assert (stored.fee_consumer, stored.days) == (Decimal("3.00"), 10)
    entry = AuditEntry.objects.get(action="dunning.level_changed")
    assert entry.data["before"] == {"fee_consumer": "2.50", "days": "14"}
    assert entry.data["after"] == {"fee_consumer": "3.00", "days": "10"}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"days": 0}, "invalid_dunning_level"),
        ({"deadline_days": 366}, "invalid_dunning_level"),
        ({"fee_business": "-0.01"}, "negative_amount"),
        ({"fee_business": "0.001"}, "too_many_decimals"),
        ({"access_effect": "lock"}, "invalid_dunning_level"),
        ({"name": "Neu"}, "invalid_dunning_level"),
        ({"subject_de": "Frist $frist"}, "unknown_placeholder"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(company, actor, changes, code):
    before = DunningLevel.objects.get(policy_id=_policy(), number=1).__dict__.copy()
    with pytest.raises(InvalidInput) as refused:
        services.update_level(policy_id=_policy(), number=1, actor=actor, **changes)
    assert refused.value.code == code
    after = DunningLevel.objects.get(policy_id=_policy(), number=1).__dict__
    assert {k: v for k, v in after.items() if k != "_state"} == {
        k: v for k, v in before.items() if k != "_state"
    }


def test_a_cashier_may_not_change_a_level(company):
    cashier = Actor(label="user:carl", user_id=None, roles=frozenset({"cashier"}))
    with pytest.raises(PermissionRefused):
        services.update_level(policy_id=_policy(), number=1, actor=cashier, days=3)
    assert DunningLevel.objects.get(policy_id=_policy(), number=1).days == 14
