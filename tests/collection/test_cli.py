"""`faktura sepa-batch --date D [--scheme S] [--output DIR]`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from faktura.collection.models import DirectDebitBatch
from faktura.payments.models import PaymentSettings
from tests.collection.helpers import debit_customer, due_invoice, pain008_schema, parse

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("sepa-batch", *args, stdout=out)
    return out.getvalue()


def test_writes_the_stored_file_and_says_where(business_customer, actor, tmp_path):
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    output = _run("--date", "2026-11-17", "--output", str(tmp_path))
    batch = DirectDebitBatch.objects.get()
    path = tmp_path / batch.file_name
    assert f"CORE: {path} (new, 1 debits, 119.00 EUR, sha256 {batch.checksum})" in output
    assert "B2B: nothing due for collection on 2026-11-17." in output
    assert path.read_bytes() == batch.file_bytes()
    assert pain008_schema().validate(parse(path.read_bytes()))
    # Again: no second file, the existing one written unchanged.
    path.unlink()
    again = _run("--date", "2026-11-17", "--scheme", "CORE", "--output", str(tmp_path))
    assert "(existing, 1 debits" in again
    assert DirectDebitBatch.objects.count() == 1
    assert path.read_bytes() == batch.file_bytes()


def test_the_underscore_name_works_too(company, tmp_path):
    out = io.StringIO()
    call_command("sepa_batch", "--date", "2026-11-17", "--output", str(tmp_path), stdout=out)
    assert "CORE: nothing due" in out.getvalue()


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2026-11-16", "collection_date_too_early"),
        ("17.11.2026", "is not a date"),
        ("2026-11-21", "collection_date_not_business_day"),
    ],
)
def test_bad_dates_are_refused_clearly(company, tmp_path, date, message):
    with pytest.raises(CommandError, match=message):
        _run("--date", date, "--output", str(tmp_path))
    assert not list(tmp_path.iterdir())
