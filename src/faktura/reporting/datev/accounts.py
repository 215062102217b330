"""Which account a booking goes to: the SKR 03/04 defaults, the stored overrides, debtors.

The default revenue, write-off and tax accounts are DATEV "Automatikkonten": DATEV derives
the VAT from the account, so the rows carry no BU-Schlüssel (a key on an automatic account
is an import error). An override may name a plain account with the key it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from faktura.core.errors import InvalidInput
from faktura.reporting.models import AccountPurpose as P
from faktura.reporting.models import Chart, DatevAccount, DatevSettings, DebtorAccountSource

DEFAULT_ACCOUNTS: dict[str, dict[str, int]] = {
    Chart.SKR03: {
        P.REVENUE_19: 8400,
        P.REVENUE_7: 8300,
        P.REVENUE_REVERSE_CHARGE: 8336,
        P.REVENUE_INTRA_COMMUNITY: 8125,
        P.REVENUE_EXPORT: 8120,
        P.REVENUE_NOT_TAXABLE: 8338,
        P.REVENUE_EXEMPT: 8100,
        P.BANK: 1200,
        P.UNASSIGNED: 1590,
        P.FEES: 2700,
        P.INTEREST: 2650,
        P.WRITE_OFF_19: 2406,
        P.WRITE_OFF_7: 2401,
        P.WRITE_OFF_OTHER: 2400,
    },
    Chart.SKR04: {
        P.REVENUE_19: 4400,
        P.REVENUE_7: 4300,
        P.REVENUE_REVERSE_CHARGE: 4336,
        P.REVENUE_INTRA_COMMUNITY: 4125,
        P.REVENUE_EXPORT: 4120,
        P.REVENUE_NOT_TAXABLE: 4338,
        P.REVENUE_EXEMPT: 4100,
        P.BANK: 1800,
        P.UNASSIGNED: 1370,
        P.FEES: 4830,
        P.INTEREST: 7100,
        P.WRITE_OFF_19: 6936,
        P.WRITE_OFF_7: 6931,
        P.WRITE_OFF_OTHER: 6930,
    },
}

# EN 16931 VAT category (BT-151) → the revenue purpose; S (standard) goes by its rate.
_ZERO_RATED = {
    "AE": P.REVENUE_REVERSE_CHARGE,
    "K": P.REVENUE_INTRA_COMMUNITY,
    "G": P.REVENUE_EXPORT,
    "O": P.REVENUE_NOT_TAXABLE,
    "E": P.REVENUE_EXEMPT,
    "Z": P.REVENUE_EXEMPT,
}
_STANDARD = {Decimal("19"): P.REVENUE_19, Decimal("7"): P.REVENUE_7}
_WRITE_OFF = {Decimal("19"): P.WRITE_OFF_19, Decimal("7"): P.WRITE_OFF_7}


@dataclass(frozen=True)
class Account:
    number: int
    tax_key: str = ""


class AccountMap:
    """The accounts of one chart: defaults, overridden by the stored DatevAccount rows."""

    def __init__(self, chart: str, config: DatevSettings) -> None:
        if chart not in DEFAULT_ACCOUNTS:
            raise InvalidInput(
                f"Unbekannter Kontenrahmen {chart!r}: skr03 oder skr04.", code="unknown_chart"
            )
        self.chart = chart
        self.config = config
        self._accounts = {
            purpose: Account(number) for purpose, number in DEFAULT_ACCOUNTS[chart].items()
        }
        for row in DatevAccount.objects.filter(chart=chart):
            self._accounts[row.purpose] = Account(row.account, row.tax_key)

    def __getitem__(self, purpose: str) -> Account:
        return self._accounts[purpose]

    def revenue(self, category: str, rate: Decimal, *, document: str) -> Account:
        """The revenue account of one line of a document's VAT breakdown (BG-23)."""
        purpose = _STANDARD.get(rate.normalize()) if category == "S" else _ZERO_RATED.get(category)
        if purpose is None:
            raise InvalidInput(
                f"{document}: kein Erlöskonto für USt-Kategorie {category} mit {rate} % "
                "(DATEV-Kontenzuordnung).",
                code="no_revenue_account",
            )
        return self[purpose]

    def write_off(self, category: str, rate: Decimal) -> Account:
        """The write-off account of a rate: the 19 % and 7 % ones correct the VAT."""
        purpose = _WRITE_OFF.get(rate.normalize()) if category == "S" else None
        return self[purpose or P.WRITE_OFF_OTHER]

    def debtor(self, customer_number: str, customer_id: int) -> int:
        """The customer's personal account (Debitor): start + number, within DATEV's range."""
        config = self.config
        if config.debtor_account_source == DebtorAccountSource.CUSTOMER_ID:
            offset = customer_id
        else:
            digits = re.sub(r"\D", "", customer_number)
            if not digits:
                raise InvalidInput(
                    f"Kunde {customer_number}: die Kundennummer enthält keine Ziffern für "
                    "das Debitorenkonto.",
                    code="no_debtor_account",
                )
            offset = int(digits)
        number = config.debtor_account_start + offset
        # Debtors are the personal accounts 1…69999 × 10^(length−4) (one digit more).
        low, high = 10**config.account_length, 7 * 10**config.account_length - 1
        if not low <= number <= high:
            raise InvalidInput(
                f"Kunde {customer_number}: Debitorenkonto {number} liegt nicht zwischen "
                f"{low} und {high}.",
                code="debtor_account_out_of_range",
            )
        return number
