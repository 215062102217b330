"""Fixtures of the portal tests: customers signed in to the portal, and a second customer
whose documents the first must never reach."""

from __future__ import annotations

import pytest
from django.test import Client

from faktura.customers.portal import PORTAL_ACTOR, open_portal_account


def signed_in(customer) -> Client:
    """A browser signed in to the portal as ``customer`` (its portal account opened)."""
    account = open_portal_account(customer_id=customer.pk, actor=PORTAL_ACTOR)
    client = Client()
    client.force_login(account.user)
    return client


@pytest.fixture
def portal(business_customer) -> Client:
    return signed_in(business_customer)


@pytest.fixture
def other_customer(company, actor):
    from faktura.customers.services import create_customer

    return create_customer(
        actor=actor,
        kind="business",
        name="Fremd GmbH",
        street="Am Markt",
        house_number="1",
        postcode="50667",
        city="Köln",
        email="rechnung@fremd.example",
    )


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.content.decode().replace("\xa0", " ").split())
