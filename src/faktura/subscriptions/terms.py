"""Contract terms as data: minimum term, notice period, what happens after the minimum term.

The earliest end of a contract follows from its terms and the day notice is received; pure
functions, no database. Periods in months end as § 188 (2) BGB says: on the day of the
later month with the number of the day the period started from (notice received on
15 March with one month's notice: the contract ends with 15 April); a month without that
day ends on its last day (§ 188 (3) BGB).

Consumer contracts (§ 309 Nr. 9 BGB, since 1 March 2022): a first term of at most two
years; a tacit extension only for an indefinite time, cancellable at any time with at
most one month's notice; notice before the end of the first term at most one month. The
consumer defaults below are exactly that; business contracts may renew for a further term.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from faktura.subscriptions.periods import add_months

ONE_DAY = dt.timedelta(days=1)


class Unit(StrEnum):
    DAYS = "days"
    MONTHS = "months"


class AfterMinimumTerm(StrEnum):
    INDEFINITE = "indefinite"  # runs on; notice at any time (consumers, § 309 Nr. 9 b BGB)
    RENEWS = "renews"  # renews for ``renewal_months`` each time unless given notice


@dataclass(frozen=True)
class Span:
    value: int
    unit: Unit = Unit.MONTHS

    def after(self, day: dt.date) -> dt.date:
        """The day a span starting from ``day``'s event ends (§ 187 (1), § 188 (2) BGB)."""
        if self.unit == Unit.DAYS:
            return day + dt.timedelta(days=self.value)
        return add_months(day, self.value)


@dataclass(frozen=True)
class ContractTerms:
    minimum_term_months: int = 0
    notice: Span = Span(1)
    after_minimum_term: AfterMinimumTerm = AfterMinimumTerm.INDEFINITE
    renewal_months: int = 12

    def violations_for_consumers(self) -> list[str]:
        """What § 309 Nr. 9 BGB forbids in a consumer contract, in words; empty if lawful."""
        problems = []
        if self.minimum_term_months > 24:
            problems.append("Die Erstlaufzeit darf höchstens zwei Jahre betragen.")
        if (self.notice.unit == Unit.MONTHS and self.notice.value > 1) or (
            self.notice.unit == Unit.DAYS and self.notice.value > 31
        ):
            problems.append("Die Kündigungsfrist darf höchstens einen Monat betragen.")
        if self.after_minimum_term != AfterMinimumTerm.INDEFINITE:
            problems.append(
                "Nach der Erstlaufzeit darf sich der Vertrag nur auf unbestimmte Zeit verlängern."
            )
        return problems


CONSUMER_DEFAULT = ContractTerms()


def term_end(start: dt.date, months: int) -> dt.date:
    """The last day of a term of ``months`` that begins on ``start``.

    The first day counts (§ 187 (2) BGB), so the term ends the day before the day of the
    later month with the same number (§ 188 (2)), or on that month's last day where the
    month has no such day (§ 188 (3)): 31 March + 1 month ends on 30 April.
    """
    target = add_months(start, months)
    return target if target.day != start.day else target - ONE_DAY


def minimum_term_end(terms: ContractTerms, start: dt.date) -> dt.date | None:
    """The last day of the minimum term, or None without one."""
    if terms.minimum_term_months <= 0:
        return None
    return term_end(start, terms.minimum_term_months)


def earliest_end(terms: ContractTerms, *, start: dt.date, notice_received: dt.date) -> dt.date:
    """The last day of the contract when notice is received on ``notice_received``.

    Notice in time for the end of the minimum term ends the contract then; after the
    minimum term an indefinite contract ends when the notice period has run, a renewing
    one at the end of the first renewal term that the notice period still reaches.
    """
    if notice_received < start:
        notice_received = start
    notice_runs_out = terms.notice.after(notice_received)
    term_end_day = minimum_term_end(terms, start)
    if term_end_day is None:
        return notice_runs_out
    if notice_runs_out <= term_end_day:
        return term_end_day
    if terms.after_minimum_term == AfterMinimumTerm.INDEFINITE:
        return notice_runs_out
    # Renewal terms are counted from the start, so month ends never drift.
    months = terms.minimum_term_months
    end = term_end_day
    while end < notice_runs_out:
        months += terms.renewal_months
        end = term_end(start, months)
    return end
