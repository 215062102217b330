"""The earliest end of a contract from its terms (§ 309 Nr. 9, §§ 187, 188 BGB)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.subscriptions.terms import (
    CONSUMER_DEFAULT,
    AfterMinimumTerm,
    ContractTerms,
    Span,
    Unit,
    earliest_end,
    term_end,
)

D = dt.date


def test_a_term_ends_the_day_before_the_same_day_number_or_on_the_last_of_the_month():
    assert term_end(D(2026, 1, 15), 12) == D(2027, 1, 14)
    assert term_end(D(2026, 3, 31), 1) == D(2026, 4, 30)
    assert term_end(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert term_end(D(2026, 1, 1), 24) == D(2027, 12, 31)


def test_consumer_default_one_month_notice_at_any_time():
    assert earliest_end(
        CONSUMER_DEFAULT, start=D(2026, 1, 10), notice_received=D(2026, 3, 15)
    ) == D(2026, 4, 15)
    assert earliest_end(
        CONSUMER_DEFAULT, start=D(2026, 1, 10), notice_received=D(2026, 1, 31)
    ) == D(2026, 2, 28)


def test_notice_in_time_ends_the_contract_with_its_minimum_term():
    terms = ContractTerms(minimum_term_months=12)
    start = D(2026, 1, 1)
    assert earliest_end(terms, start=start, notice_received=D(2026, 2, 1)) == D(2026, 12, 31)
    assert earliest_end(terms, start=start, notice_received=D(2026, 11, 30)) == D(2026, 12, 31)
    # Too late for the end of the minimum term: a consumer contract then runs on for a month.
    assert earliest_end(terms, start=start, notice_received=D(2026, 12, 1)) == D(2027, 1, 1)


def test_a_renewing_business_contract_ends_with_the_next_reachable_term():
    terms = ContractTerms(
        minimum_term_months=12,
        notice=Span(3),
        after_minimum_term=AfterMinimumTerm.RENEWS,
        renewal_months=12,
    )
    start = D(2026, 1, 31)
    assert earliest_end(terms, start=start, notice_received=D(2026, 10, 1)) == D(2027, 1, 30)
    assert earliest_end(terms, start=start, notice_received=D(2026, 11, 15)) == D(2028, 1, 30)


def test_notice_in_days():
    terms = ContractTerms(notice=Span(14, Unit.DAYS))
    assert earliest_end(terms, start=D(2026, 1, 1), notice_received=D(2026, 5, 20)) == D(2026, 6, 3)


def test_consumer_terms_are_checked_against_section_309_no_9():
    assert CONSUMER_DEFAULT.violations_for_consumers() == []
    unlawful = ContractTerms(
        minimum_term_months=36, notice=Span(3), after_minimum_term=AfterMinimumTerm.RENEWS
    )
    assert len(unlawful.violations_for_consumers()) == 3


terms_strategy = st.builds(
    ContractTerms,
    minimum_term_months=st.integers(0, 36),
    notice=st.builds(Span, st.integers(0, 6), st.sampled_from(list(Unit))),
    after_minimum_term=st.sampled_from(list(AfterMinimumTerm)),
    renewal_months=st.integers(1, 24),
)


@given(
    terms=terms_strategy,
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2080, 1, 1)),
    delay=st.integers(0, 3000),
)
def test_the_end_respects_the_notice_and_the_minimum_term(terms, start, delay):
    received = start + dt.timedelta(days=delay)
    end = earliest_end(terms, start=start, notice_received=received)
    assert end >= terms.notice.after(received)
    if terms.minimum_term_months:
        assert end >= term_end(start, terms.minimum_term_months)


@pytest.mark.parametrize("day", [D(2025, 12, 1), D(2026, 1, 1)])
def test_notice_before_the_start_counts_from_the_start(day):
    assert earliest_end(CONSUMER_DEFAULT, start=D(2026, 1, 1), notice_received=day) == D(2026, 2, 1)
