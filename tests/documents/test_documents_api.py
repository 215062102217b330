"""The documents endpoints: archived PDF and XML downloads, re-send, delivery state.

The router is mounted here on a test API with the project's error handling, the way
``api/router.py`` mounts it under ``/invoices``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from ninja import NinjaAPI
from ninja.testing import TestClient

from faktura.api import documents, errors
from faktura.api.keys import create_api_key
from faktura.documents.archive import read_archived
from faktura.documents.einvoice import build_cii
from faktura.documents.models import ArchivedDocument
from faktura.invoicing.snapshots import snapshot_for
from faktura.notifications.models import OutboxMessage
from tests.documents.pipeline_helpers import finalized, run_tasks

pytestmark = pytest.mark.django_db

api = NinjaAPI(urls_namespace="documents-router-test")
errors.install(api)
api.add_router("/invoices", documents.router)


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _client(*scopes: str) -> TestClient:
    user = User.objects.create_user(username=f"u{len(scopes)}", password="unused-password-1")
    user.groups.add(Group.objects.get_or_create(name="accountant")[0])
    _key, secret = create_api_key(name=f"key-{'-'.join(scopes)}", user=user, scopes=list(scopes))
    return TestClient(api, headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def client(company) -> TestClient:
    return _client("read", "write")


def test_pdf_download_serves_the_archived_bytes(client, business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    response = client.get(f"/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="RE-2026-00001.pdf"'
    pdf = (archive_dir / "archive/2026/RE-2026-00001.pdf").read_bytes()
    assert response.content == pdf
    assert response["ETag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'


def test_xml_download_is_the_embedded_factur_x(client, business_customer, actor):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    response = client.get(f"/invoices/{invoice.pk}/xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == 'attachment; filename="RE-2026-00001.xml"'
    assert response.content == build_cii(snapshot_for(invoice))


def test_xml_download_of_xrechnung_is_the_archived_xml(client, company, actor):
    from faktura.customers.services import create_customer

    authority = create_customer(
        actor=actor,
        kind="public_body",
        name="Stadtverwaltung Musterstadt",
        street="Rathausplatz",
        house_number="1",
        postcode="12345",
        city="Musterstadt",
        email="rechnung@musterstadt.de",
        leitweg_id="04011000-1234512345-06",
        xrechnung_syntax="ubl",
    )
    invoice = finalized(authority, actor)
    run_tasks("process_finalized_document")
    response = client.get(f"/invoices/{invoice.pk}/xml")
    assert response.status_code == 200
    assert response.content == read_archived(ArchivedDocument.objects.get(kind="xml"))


def test_not_yet_rendered_is_404_document_not_archived(client, business_customer, actor):
    invoice = finalized(business_customer, actor)
    for path in ("pdf", "xml"):
        response = client.get(f"/invoices/{invoice.pk}/{path}")
        assert response.status_code == 404
        assert response.json()["code"] == "document_not_archived"
    assert client.get("/invoices/999999/pdf").json()["code"] == "not_found"


def test_an_altered_archive_file_is_never_served(client, business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    (archive_dir / "archive/2026/RE-2026-00001.pdf").write_bytes(b"%PDF-1.7 forged")
    response = client.get(f"/invoices/{invoice.pk}/pdf")
    assert response.status_code == 500
    assert response.json()["code"] == "archived_file_altered"


def test_send_queues_a_new_mail_and_deliveries_show_it(client, business_customer, actor):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    response = client.post(f"/invoices/{invoice.pk}/send", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 202
    body = response.json()
    assert body["object"] == "delivery"
    assert body["resend"] is True
    assert body["state"] == "queued"
    assert body["to"] == ["buchhaltung@beispiel.de"]
    assert body["attachments"] == ["RE-2026-00001.pdf"]
    replay = client.post(f"/invoices/{invoice.pk}/send", headers={"Idempotency-Key": "k1"})
    assert replay.json()["id"] == body["id"]
    assert OutboxMessage.objects.count() == 2  # the first mail and one re-send

    deliveries = client.get(f"/invoices/{invoice.pk}/deliveries").json()
    assert deliveries["number"] == "RE-2026-00001"
    assert deliveries["delivery_status"] == "queued"
    assert [d["filename"] for d in deliveries["documents"]] == ["RE-2026-00001.pdf"]
    assert deliveries["documents"][0]["retention_until"] == "2034-12-31"
    assert [(m["resend"], m["state"]) for m in deliveries["messages"]] == [
        (False, "queued"),
        (True, "queued"),
    ]


def test_send_needs_the_write_scope_and_a_finalized_document(company, business_customer, actor):
    reader = _client("read")
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    assert reader.post(f"/invoices/{invoice.pk}/send").status_code == 403
    writer = _client("read", "write")
    from tests.invoicing.helpers import line, order

    draft = order(business_customer, actor, line())
    response = writer.post(f"/invoices/{draft.pk}/send")
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_finalized"
