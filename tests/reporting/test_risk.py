"""The risk score: its figures read in SQL from a known history, and the pure formula."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faktura.reporting import risk
from tests.conftest import TODAY
from tests.reporting.risk_helpers import bad_history, paid_late


def test_a_bad_history_reads_its_figures_and_scores_70(business_customer, actor):
    bad_history(business_customer, actor)

    figures, assessed = risk.customer_risk(business_customer.pk, today=TODAY)

    assert figures == risk.History(
        paid_invoices=2,
        average_days_to_pay=Decimal("21.0"),
        average_days_late=Decimal("7.0"),
        returned_debits=2,
        chargebacks=1,
        highest_dunning_level=1,
        overdue_amount=Decimal("119.00"),
        open_receivables=Decimal("119.00"),
    )
    assert assessed.score == 70
    assert assessed.reasons == [
        "Zahlt im Schnitt 7,0 Tage nach Fälligkeit (21,0 Tage nach Rechnungsdatum, "
        "2 bezahlte Rechnungen): +14 Punkte",
        "2 Rücklastschrift(en): +20 Punkte",
        "1 Rückbelastung(en) (Chargeback): +15 Punkte",
        "Höchste erreichte Mahnstufe: 1: +10 Punkte",
        "Überfällig offen: 119,00 EUR: +11 Punkte",
    ]


def test_a_customer_paying_on_time_scores_0(business_customer, actor):
    # Paid on the due date and 4 days early: no delay points, early payment counts 0.
    paid_late(business_customer, actor, issued=dt.date(2026, 10, 1), paid=dt.date(2026, 10, 15))
    paid_late(business_customer, actor, issued=dt.date(2026, 10, 1), paid=dt.date(2026, 10, 11))

    figures, assessed = risk.customer_risk(business_customer.pk, today=TODAY)

    assert (figures.paid_invoices, figures.average_days_to_pay) == (2, Decimal("12.0"))
    assert figures.average_days_late == Decimal("0.0")
    assert assessed == risk.Risk(score=0, reasons=["Keine Auffälligkeiten im Zahlungsverhalten"])


def test_a_new_customer_has_no_figures(business_customer):
    figures, assessed = risk.customer_risk(business_customer.pk, today=TODAY)

    assert figures == risk.History()
    assert assessed.score == 0


def test_each_part_is_capped_at_30_and_the_total_at_100():
    figures = risk.History(
        paid_invoices=3,
        average_days_to_pay=Decimal("80.0"),
        average_days_late=Decimal("66.0"),
        returned_debits=5,
        chargebacks=4,
        highest_dunning_level=4,
        overdue_amount=Decimal("12345.67"),
    )

    assessed = risk.score(figures)

    assert assessed.score == 100
    assert [line.rsplit(": +", 1)[1] for line in assessed.reasons] == ["30 Punkte"] * 5
    assert "Überfällig offen: 12.345,67 EUR: +30 Punkte" in assessed.reasons


def test_overdue_points_grow_by_one_per_full_hundred():
    def points(amount: str) -> int:
        return risk.score(risk.History(overdue_amount=Decimal(amount))).score

    assert [points(a) for a in ("0.01", "99.99", "100.00", "1999.99", "2000.00")] == [
        10,
        10,
        11,
        29,
        30,
    ]


_days = st.decimals(min_value=0, max_value=400, places=1)
_count = st.integers(min_value=0, max_value=50)
_money = st.decimals(min_value=0, max_value=10**7, places=2)


# The machine is shared: generation may be slow, the property stays exact.
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(late=_days, debits=_count, chargebacks=_count, level=st.integers(0, 4), overdue=_money)
def test_the_score_stays_within_0_and_100_and_never_falls_with_more_trouble(
    late, debits, chargebacks, level, overdue
):
    base = risk.History(
        average_days_late=late,
        returned_debits=debits,
        chargebacks=chargebacks,
        highest_dunning_level=level,
        overdue_amount=overdue,
    )
    worse = risk.History(
        average_days_late=late + 1,
        returned_debits=debits + 1,
        chargebacks=chargebacks,
        highest_dunning_level=level,
        overdue_amount=overdue + Decimal("100.00"),
    )

    assert 0 <= risk.score(base).score <= risk.score(worse).score <= 100


def test_the_customer_admin_shows_the_score_and_its_reasons(client, business_customer, actor):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    bad_history(business_customer, actor)
    user = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(user)

    page = client.get(reverse("admin:customers_customer_change", args=[business_customer.pk]))

    text = page.content.decode()
    assert "70 / 100<br>" in text
    assert "2 Rücklastschrift(en): +20 Punkte<br>" in text


def test_the_figures_take_four_queries_whatever_the_history(
    business_customer, actor, django_assert_num_queries
):
    bad_history(business_customer, actor)
    paid_late(business_customer, actor, issued=dt.date(2026, 9, 1), paid=dt.date(2026, 9, 20))

    with django_assert_num_queries(4):
        figures = risk.history(business_customer.pk, today=TODAY)

    assert (figures.paid_invoices, figures.average_days_late) == (
        3,
        Decimal("6.3"),
    )  # (10 + 4 + 5) / 3
