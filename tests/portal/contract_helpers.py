"""Building blocks of the portal's contract tests: a signed-in customer, a subscription."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User

from faktura.customers.models import Customer, PortalAccount
from faktura.notifications.models import OutboxMessage
from faktura.subscriptions.models import Subscription
from tests.subscriptions.helpers import plan, subscribe


def sign_in(client, customer: Customer, username: str | None = None):
    user = User.objects.create_user(username or f"portal-{customer.number}", password="pw-12345678")
    PortalAccount.objects.create(user=user, customer=customer)
    client.force_login(user)
    return client


def monthly(customer: Customer, *, code: str = "monthly", **fields: object) -> Subscription:
    """A monthly plan (one month's notice, billed in advance) since 1 January 2026."""
    return subscribe(customer, plan(code, **fields), starts_on=dt.date(2026, 1, 1))


def mails(event: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(event=event).order_by("pk"))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]
