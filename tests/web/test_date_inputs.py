"""Every date picker of the back office shows a pre-filled date: a browser's date input
accepts only ISO dates (2026-11-16), and a German ``16.11.2026`` leaves it empty."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil

import pytest
from django import forms

from faktura.web.backoffice import views


def _date_fields() -> list[tuple[str, str, forms.DateField]]:
    found = []
    for module_info in pkgutil.iter_modules(views.__path__):
        module = importlib.import_module(f"{views.__name__}.{module_info.name}")
        for name, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, forms.BaseForm) and form.__module__ == module.__name__:
                for field_name, field in form.base_fields.items():
                    # A date picker (type=date); a text field keeps the German 31.12.2026.
                    if getattr(field.widget, "input_type", "") == "date":
                        found.append((f"{module_info.name}.{name}", field_name, field))
    return found


DATE_FIELDS = _date_fields()


def test_the_back_office_has_date_fields():
    assert len(DATE_FIELDS) >= 10


@pytest.mark.parametrize(
    ("form", "name", "field"), DATE_FIELDS, ids=[f"{form}.{name}" for form, name, _ in DATE_FIELDS]
)
def test_a_date_field_renders_its_value_as_iso(form, name, field, settings):
    settings.LANGUAGE_CODE = "de"
    html = field.widget.render(name, dt.date(2026, 11, 16))
    assert 'value="2026-11-16"' in html, (form, name, html)
