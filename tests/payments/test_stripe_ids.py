"""The Stripe id check of saved payment methods, for any text."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.core.errors import InvalidInput
from faktura.payments.off_session import _stripe_id

ALLOWED = string.ascii_letters + string.digits + "_"


@given(st.text(alphabet=ALLOWED, min_size=1, max_size=252))
def test_every_well_formed_id_is_kept_as_given(tail):
    assert _stripe_id(f" pm_{tail}\n", prefix="pm_", field="f", code="c") == f"pm_{tail}"


@given(st.text(max_size=300))
def test_anything_else_is_refused_with_the_code(tail):
    value = f"pm_{tail}"
    if re.fullmatch(r"pm_[A-Za-z0-9_]{1,252}", value.strip()):
        return
    with pytest.raises(InvalidInput) as error:
        _stripe_id(value, prefix="pm_", field="payment_method_id", code="invalid_payment_method_id")
    assert error.value.code == "invalid_payment_method_id"
    assert error.value.field == "payment_method_id"
    assert len(error.value.message) < 200  # a long or odd input is not echoed whole
