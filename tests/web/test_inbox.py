"""Aufgaben: one list of what waits for a person, with its count in the navigation."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.core import clock
from faktura.notifications.models import OutboxMessage
from faktura.reporting import inbox


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("buchhaltung", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def failed_mail(subject: str = "Rechnung RE-2026-00001") -> OutboxMessage:
    return OutboxMessage.objects.create(
        event=OutboxMessage.Event.DUNNING_NOTICE,
        from_email="rechnung@example.com",
        to=["kunde@example.com"],
        subject=subject,
        language="de",
        body_text="…",
        state=OutboxMessage.State.FAILED,
        created_by="test",
        created_at=clock.now(),
    )


def nav_count(html: str) -> int | None:
    found = re.search(r'Aufgaben <span class="badge count"[^>]*>(\d+)</span>', html)
    return int(found.group(1)) if found else None


@pytest.mark.django_db
def test_nothing_to_do_shows_no_count(staff_client):
    html = staff_client.get("/aufgaben/").content.decode()
    assert nav_count(html) is None
    assert "Nichts zu tun" in html


@pytest.mark.django_db
def test_failed_mails_are_listed_and_counted(staff_client):
    failed_mail()
    failed_mail("Mahnung M-2026-000001")
    failed = 2
    counts = inbox.counts()
    assert counts["failed_mails"] == failed
    assert counts["approvals"] == 0

    html = staff_client.get("/aufgaben/").content.decode()
    assert nav_count(html) == inbox.total() == failed
    section = html.split('data-source="failed_mails"')[1].split("</section>")[0]
    assert "Nicht zugestellte E-Mails" in section
    assert f'<span class="badge" id="count-failed_mails">{failed}</span>' in section


@pytest.mark.django_db
def test_the_count_in_the_navigation_shows_on_every_page(staff_client):
    failed_mail()
    assert nav_count(staff_client.get("/").content.decode()) == 1


def test_every_source_counts_without_error(db):
    assert set(inbox.counts()) == {source.key for source in inbox.SOURCES}
    assert inbox.total() == 0
