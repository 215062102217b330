"""The navigation of the back office: its entries in the agreed order, the current one
marked for screen readers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

ORDER = [
    "Start",
    "Aufgaben",
    "Rechnungen",
    "Kunden",
    "Abos",
    "Zahlungen",
    "Bank",
    "Mahnwesen",
    "Berichte",
]


@pytest.fixture
def viewer(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def entries(html: str) -> list[str]:
    nav = html.split('class="sidebar"')[1].split("</nav>")[0]
    return [
        re.sub(r"\s+\d+$", "", " ".join(re.sub(r"<[^>]+>", " ", text).split()))
        for text in re.findall(r"<li><a [^>]*>(.*?)</a></li>", nav, re.S)
    ]


@pytest.mark.django_db
def test_the_entries_come_in_the_agreed_order(viewer):
    shown = entries(viewer.get("/").content.decode())
    assert [name for name in shown if name in ORDER] == ORDER


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/abos/", "Abos"),
        ("/abos/tarife/", "Abos"),
        ("/zahlungen/", "Zahlungen"),
        ("/zahlungen/ruecklastschriften/", "Zahlungen"),
        ("/mahnwesen/", "Mahnwesen"),
        ("/mahnwesen/mahnungen/", "Mahnwesen"),
    ],
)
def test_the_current_section_is_marked(viewer, path, current):
    html = viewer.get(path).content.decode()
    nav = html.split('class="sidebar"')[1].split("</nav>")[0]
    marked = re.findall(r'aria-current="page">([^<]+)<', nav)
    assert marked == [current]
