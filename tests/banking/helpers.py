"""Helpers of the statement import tests: importing on a day, counting rows, API clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

from faktura.banking import services
from faktura.banking.models import BankStatement, BankTransaction, ProviderEvent
from faktura.core import clock
from faktura.core.actors import Actor
from tests.payments.helpers import counts as payment_counts

# The day the tests' statements are booked: the day after the frozen "today".
BOOKING_DAY = dt.date(2026, 11, 17)
PAYER_IBAN = "DE89370400440532013000"


def import_on(
    data: bytes, actor: Actor, *, day: dt.date = BOOKING_DAY, filename: str = "auszug.xml", **kw
) -> services.ImportResult:
    """Import ``data`` with the clock at ``day`` (statements are imported after booking)."""
    with clock.frozen(dt.datetime.combine(day, dt.time(18, 0), tzinfo=dt.UTC)):
        return services.import_statement(data=data, filename=filename, actor=actor, **kw)


def counts() -> dict[str, Any]:
    """Every row count an import may change (and a refused import must leave alone)."""
    result = payment_counts()
    for model in (BankStatement, BankTransaction, ProviderEvent):
        result[model.__name__] = model.objects.count()
    result["booked_lines"] = BankTransaction.objects.filter(state="booked").count()
    return result


def states() -> dict[str, int]:
    """How many statement lines are in each state."""
    found: dict[str, int] = {}
    for state in BankTransaction.objects.values_list("state", flat=True):
        found[state] = found.get(state, 0) + 1
    return found


def summary(result: services.ImportResult) -> dict[str, Any]:
    """The counts of an import result, for one exact comparison."""
    return {
        "transactions": result.transactions,
        "new": result.new,
        "duplicates": result.duplicates,
        "booked": result.booked,
        "unmatched": result.unmatched,
        "returns": result.returns,
        "ignored": result.ignored,
        "booked_amount": str(result.booked_amount),
        "already_imported": result.already_imported,
    }


def api_client(*roles: str, scopes: tuple[str, ...] = ("read", "write"), name: str = "bank"):
    """A test client with an API key whose user has ``roles``."""
    from faktura.api.keys import create_api_key
    from tests.api.conftest import ApiClient, make_user

    user = make_user(f"{name}-user", *roles)
    _, secret = create_api_key(name=name, user=user, scopes=list(scopes))
    return ApiClient(secret)
