"""Every code the payment and collection services raise is documented for the API."""

from __future__ import annotations

import re
from pathlib import Path

from faktura.api.errors import ERROR_CODES as API_CODES
from faktura.collection.error_codes import ERROR_CODES as COLLECTION_CODES
from faktura.payments.error_codes import ERROR_CODES as PAYMENT_CODES

SRC = Path(__file__).resolve().parents[2] / "src" / "faktura"
MODULES = [
    "payments/services.py",
    "payments/returns.py",
    "payments/refunds.py",
    "payments/off_session.py",
    "payments/locks.py",
    "payments/models.py",
    "collection/services.py",
    "collection/selectors.py",
    "payments/account_statement.py",
    "api/payments.py",
    "api/collection.py",
    "api/disputes.py",
    "api/refunds.py",
    "api/balance.py",
    "api/company.py",
    "api/direct_debit_preview.py",
]


def test_every_raised_code_is_documented():
    raised: set[str] = set()
    for module in MODULES:
        raised |= set(re.findall(r'code="([a-z_]+)"', (SRC / module).read_text()))
    documented = set(API_CODES) | set(PAYMENT_CODES) | set(COLLECTION_CODES)
    assert raised - documented == set()


def test_codes_do_not_contradict_the_api_list():
    for code, (status, _) in {**PAYMENT_CODES, **COLLECTION_CODES}.items():
        if code in API_CODES:
            assert API_CODES[code][0] == status, code
