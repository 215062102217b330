"""The admin speaks German by default and English on request; the English catalog is complete.

The msgids in the code are German. The English catalog lives in
``src/faktura/locale/en/LC_MESSAGES/`` and its compiled ``django.mo`` is committed, because
GNU gettext (msgfmt) is not on every machine. After adding or changing a translatable string:

    cd src/faktura
    faktura makemessages -l en --no-obsolete
    # translate the new entries in django.po (no empty msgstr, no "fuzzy")
    faktura compilemessages

The tests below need no gettext tools: they parse the .po and the .mo themselves.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

import faktura
from tests.invoicing.helpers import line, order

PACKAGE_DIR = Path(faktura.__file__).resolve().parent
PO_FILE = PACKAGE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


# --- the admin in both languages -------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        ("en", ["Invoices", "Customers", "Products"], ["Rechnungen", "Kunden"]),
        ("de", ["Rechnungen", "Kunden", "Artikel"], ["Invoices", "Customers", "Products"]),
    ],
)
def test_admin_index_speaks_the_requested_language(staff_client, language, expected, absent):
    response = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == language
    for text in expected:
        assertContains(response, text)
    for text in absent:
        assertNotContains(response, text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "finalize", "approve"),
    [("en", "Finalize", "Approve"), ("de", "Festschreiben", "Freigeben")],
)
def test_invoice_changelist_offers_the_actions_in_the_requested_language(
    staff_client, business_customer, actor, language, finalize, approve
):
    order(business_customer, actor, line())  # a draft, so that the changelist shows actions
    response = staff_client.get(
        reverse("admin:invoicing_invoice_changelist"), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    assertContains(response, f'<option value="finalize">{finalize}</option>', html=True)
    assertContains(response, f'<option value="approve">{approve}</option>', html=True)


@pytest.mark.django_db
def test_german_is_the_default_without_accept_language(staff_client):
    response = staff_client.get(reverse("admin:index"))
    assertContains(response, "Rechnungen")
    assertNotContains(response, "Invoices")


# --- the catalog -----------------------------------------------------------------------------


def _unquote(literal: str) -> str:
    body = literal.strip()
    assert body.startswith('"'), literal
    assert body.endswith('"'), literal
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], body[1:-1])


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries: list[dict] = []
    entry: dict = {"flags": set()}
    key = None

    def flush() -> None:
        nonlocal entry, key
        if "msgid" in entry:
            entries.append(entry)
        entry, key = {"flags": set()}, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        text = raw.strip()
        if not text:
            flush()
        elif text.startswith("#~"):
            continue  # obsolete: not compiled
        elif text.startswith("#,"):
            entry["flags"].update(f.strip() for f in text[2:].split(","))
        elif text.startswith("#"):
            continue
        elif text.startswith('"'):
            entry[key] += _unquote(text)
        else:
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", text)
            assert match, f"cannot parse {path.name}: {raw!r}"
            starts_entry = match.group(1) in ("msgctxt", "msgid")
            if starts_entry and any(k.startswith("msgstr") for k in entry):
                flush()
            key = match.group(1)
            entry[key] = _unquote(match.group(2))
    flush()
    return entries


def _translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def _placeholders(text: str) -> list[str]:
    printf = re.findall(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]", text)
    braces = re.findall(r"\{[^{}]*\}", text)
    return sorted(printf + braces)


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    assert PO_FILE.is_file(), f"{PO_FILE} is missing: run makemessages -l en"
    entries = [e for e in parse_po(PO_FILE) if e["msgid"]]  # without the header
    assert entries
    return entries


def test_the_catalog_header_is_final():
    header = next(e for e in parse_po(PO_FILE) if e["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "charset=UTF-8" in header["msgstr"]
    assert "Language: en" in header["msgstr"]


def test_every_entry_is_translated(catalog):
    untranslated = [e["msgid"] for e in catalog if not all(t.strip() for t in _translations(e))]
    fuzzy = [e["msgid"] for e in catalog if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated in {PO_FILE.name}: {untranslated}"
    assert not fuzzy, f"fuzzy (unchecked guesses) in {PO_FILE.name}: {fuzzy}"


def test_translations_keep_the_placeholders(catalog):
    for entry in catalog:
        if "msgid_plural" in entry:
            # A singular may leave out the count ("the marked field"); no form may bring
            # a placeholder the source does not have.
            source = set(_placeholders(entry["msgid"])) | set(_placeholders(entry["msgid_plural"]))
            for translation in _translations(entry):
                assert set(_placeholders(translation)) <= source, entry["msgid"]
            continue
        for translation in _translations(entry):
            assert _placeholders(translation) == _placeholders(entry["msgid"]), entry["msgid"]


def test_the_compiled_catalog_matches_the_po(catalog):
    """django.mo is committed: it must be recompiled whenever django.po changes."""
    assert MO_FILE.is_file(), f"{MO_FILE} is missing: run compilemessages"
    with MO_FILE.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in catalog:
        prefix = f"{entry['msgctxt']}\x04" if "msgctxt" in entry else ""
        if "msgid_plural" in entry:
            for n, translation in enumerate(_translations(entry)):
                assert compiled._catalog.get((prefix + entry["msgid"], n)) == translation
        else:
            got = compiled._catalog.get(prefix + entry["msgid"])
            assert got == entry["msgstr"], f"{entry['msgid']!r}: recompile django.mo"


_GETTEXT_FUNCTIONS = {
    # name in django.utils.translation: (index of msgctxt, index of msgid)
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}


def _marked_strings(path: Path) -> set[tuple[str | None, str]]:
    """(msgctxt, msgid) of every literal passed to a django.utils.translation function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for name in node.names:
                if name.name in _GETTEXT_FUNCTIONS:
                    aliases[name.asname or name.name] = name.name
    found: set[tuple[str | None, str]] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        function = aliases.get(node.func.id)
        if function is None:
            continue
        context_at, msgid_at = _GETTEXT_FUNCTIONS[function]
        args = node.args
        if len(args) <= msgid_at:
            continue
        msgid = args[msgid_at]
        context = args[context_at] if context_at is not None else None
        if not (isinstance(msgid, ast.Constant) and isinstance(msgid.value, str)):
            continue
        if context is not None and not isinstance(context, ast.Constant):
            continue
        found.add((context.value if context is not None else None, msgid.value))
    return found


def test_every_marked_string_in_the_code_is_in_the_catalog(catalog):
    """Catches strings added to the code without re-running makemessages (and translating)."""
    translated = {(e.get("msgctxt"), e["msgid"]) for e in catalog if all(_translations(e))}
    missing: dict[str, list[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # makemessages sees them too, but they hold no translatable strings
        for key in sorted(_marked_strings(path) - translated, key=str):
            missing.setdefault(str(path.relative_to(PACKAGE_DIR)), []).append(key[1])
    assert not missing, (
        "strings not in the English catalog (run makemessages -l en, translate, "
        f"compilemessages): {missing}"
    )
