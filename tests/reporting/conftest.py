"""The API fixtures (tests/api/conftest.py) for the report routes' tests."""

from tests.api.conftest import (  # noqa: F401
    accountant_user,
    api,
    customer,
    reader_api,
    shop_key,
    viewer_user,
)
