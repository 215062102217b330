"""`/api/v1/docs` works without internet: Swagger UI comes from the installed package."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_docs_page_loads_swagger_ui_from_this_server_only(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = [ref for ref in references if ref.endswith(".js")]
    styles = [ref for ref in references if ref.endswith(".css")]
    assert any("swagger-ui-bundle" in ref for ref in scripts)
    assert styles
    # Nothing from another host: offline, a CDN reference leaves a blank page.
    assert not [ref for ref in references if re.match(r"(https?:)?//", ref)]
    for reference in scripts + styles:
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert len(body) > 1000, reference
    assert "/api/v1/openapi.json" in html


def test_redoc_assets_are_installed_too(client):
    from django.contrib.staticfiles import finders

    assert finders.find("ninja/redoc.standalone.js")
    assert finders.find("ninja/swagger-ui-bundle.js")
