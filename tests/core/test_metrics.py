"""/metrics: the business figures Prometheus scrapes, read from the database at each scrape."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.documents.services import block_delivery
from faktura.invoicing import services as invoicing
from faktura.notifications import services as notifications
from faktura.notifications.models import OutboxMessage
from faktura.workers import lease
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, run_tasks
from tests.invoicing.helpers import line

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


class DisconnectingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def client(settings) -> Client:
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.FAKTURA_METRICS_TOKEN = ""
    return Client()


def scrape(client: Client, **headers: str) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_a_fresh_installation_shows_every_metric_at_zero(client, company):
    figures = scrape(client)
    assert figures == {
        ("faktura_invoices_finalized_total", (("kind", "invoice"),)): 0,
        ("faktura_invoices_finalized_total", (("kind", "credit_note"),)): 0,
        ("faktura_invoices_finalized_total", (("kind", "cancellation"),)): 0,
        ("faktura_documents_blocked", ()): 0,
        ("faktura_mails_failed", ()): 0,
        ("faktura_mails_queued", ()): 0,
        ("faktura_jobs_failed", (("source", "task"),)): 0,
        ("faktura_jobs_failed", (("source", "scheduled"),)): 0,
        ("faktura_receivables_open", (("currency", "EUR"),)): 0,
        ("faktura_invoices_overdue", (("currency", "EUR"),)): 0,
        ("faktura_workers_alive", ()): 0,
        ("faktura_task_queue_depth", ()): 0,
        ("faktura_task_queue_oldest_age_seconds", ()): 0,
        ("faktura_outbox_due", ()): 0,
        ("faktura_outbox_oldest_age_seconds", ()): 0,
        ("faktura_maintenance_mode", ()): 0,
    }


def test_finalized_invoices_by_kind_open_receivables_and_overdue(client, business_customer, actor):
    finalized(business_customer, actor, line("2", "100.00"))  # 238.00
    cancelled = finalized(business_customer, actor, line("1", "100.00"))  # 119.00
    finalized(business_customer, actor, line("1", "50.00"))  # 59.50
    invoicing.cancel_invoice(invoice_id=cancelled.pk, actor=actor, reason="falsch bestellt")
    lease.register("worker-1")

    figures = scrape(client)
    assert figures[("faktura_invoices_finalized_total", (("kind", "invoice"),))] == 3
    assert figures[("faktura_invoices_finalized_total", (("kind", "cancellation"),))] == 1
    assert figures[("faktura_invoices_finalized_total", (("kind", "credit_note"),))] == 0
    assert figures[("faktura_receivables_open", (("currency", "EUR"),))] == 297.50
    assert figures[("faktura_invoices_overdue", (("currency", "EUR"),))] == 0
    assert figures[("faktura_workers_alive", ())] == 1
    # Each finalization queued its rendering and delivery task.
    assert figures[("faktura_task_queue_depth", ())] == 4

    # Due after 14 days: on day 15 both open invoices are overdue, the cancelled one not.
    with clock.frozen(dt.datetime.combine(TODAY + dt.timedelta(days=15), dt.time(9), dt.UTC)):
        figures = scrape(client)
    assert figures[("faktura_invoices_overdue", (("currency", "EUR"),))] == 2
    assert figures[("faktura_receivables_open", (("currency", "EUR"),))] == 297.50


def test_a_document_blocked_by_validation_is_counted(client, business_customer, actor):
    first = finalized(business_customer, actor)
    finalized(business_customer, actor)
    block_delivery(invoice_id=first.pk, reason="[BR-DE-1] Zahlungsangaben fehlen",
                   rule_ids=["BR-DE-1"], actor=SYSTEM)  # fmt: skip
    assert scrape(client)[("faktura_documents_blocked", ())] == 1


def test_a_failed_mail_is_counted_and_leaves_the_queue(client, settings, business_customer, actor):
    finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get()
    figures = scrape(client)
    assert figures[("faktura_mails_queued", ())] == 1
    assert figures[("faktura_outbox_due", ())] == 1
    assert figures[("faktura_mails_failed", ())] == 0

    settings.EMAIL_BACKEND = f"{__name__}.DisconnectingBackend"
    at = clock.now()
    while message.state == "queued":
        with clock.frozen(at):
            notifications.send_message(message.pk)
        message.refresh_from_db()
        at = message.next_attempt_at or at
    assert message.state == "failed"
    figures = scrape(client)
    assert figures[("faktura_mails_failed", ())] == 1
    assert figures[("faktura_mails_queued", ())] == 0
    assert figures[("faktura_outbox_due", ())] == 0


def test_the_bearer_token_protects_the_metrics(client, settings, company):
    settings.FAKTURA_METRICS_TOKEN = "s3cret-scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"faktura_" not in refused.content
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get("/metrics", headers={"authorization": "s3cret-scrape-token"}).status_code == 401
    )
    figures = scrape(client, authorization="Bearer s3cret-scrape-token")
    assert figures[("faktura_maintenance_mode", ())] == 0


def test_maintenance_shows_in_the_metrics(client, company):
    from faktura.core.services import set_maintenance

    set_maintenance(actor=SYSTEM, active=True)
    assert scrape(client)[("faktura_maintenance_mode", ())] == 1


def test_openmetrics_when_the_scraper_asks_for_it(client, company):
    response = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    text = response.content.decode()
    assert 'faktura_invoices_finalized_total{kind="invoice"} 0' in text
    assert text.endswith("# EOF\n")
