"""/health/live and /health/ready: what a load balancer and a monitor see."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from faktura.core import clock, health
from faktura.core.actors import Actor
from faktura.core.services import set_maintenance
from faktura.notifications.models import OutboxMessage
from faktura.notifications.tasks import send_outbox_message
from faktura.scheduling.models import JobRun
from faktura.workers import lease
from faktura.workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("test")


@pytest.fixture
def client(settings) -> Client:
    settings.ALLOWED_HOSTS = ["testserver"]
    return Client()


@pytest.fixture
def worker():
    lease.register("worker-1")
    return "worker-1"


def checks(response) -> dict[str, dict]:
    return {check["name"]: check for check in response.json()["checks"]}


def test_live_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_ready_with_a_live_worker_names_every_check(client, worker):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["ready"]) == ("ready", True)
    assert [(c["name"], c["status"]) for c in body["checks"]] == [
        ("database", "ok"),
        ("migrations", "ok"),
        ("worker", "ok"),
        ("task_queue", "ok"),
        ("outbox", "ok"),
        ("failed_jobs", "ok"),
        ("maintenance", "ok"),
    ]
    assert checks(response)["worker"]["alive"] == 1
    assert checks(response)["migrations"]["unapplied"] == []


def test_no_worker_at_all_is_not_ready(client):
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert checks(response)["worker"] == {"name": "worker", "status": "failing", "alive": 0}


def test_a_stale_heartbeat_is_not_ready(client, worker, settings):
    WorkerHeartbeat.objects.filter(worker_id=worker).update(
        last_seen=timezone.now() - dt.timedelta(seconds=settings.FAKTURA_WORKER_LEASE_SECONDS + 1)
    )
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["worker"]["status"] == "failing"
    assert checks(response)["worker"]["alive"] == 0


def test_a_stopped_worker_shows_as_not_ready(client, worker):
    assert client.get("/health/ready").status_code == 200
    lease.unregister(worker)  # what `faktura worker` does when it stops cleanly
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["worker"]["status"] == "failing"


def test_an_unapplied_migration_is_not_ready(client, worker):
    # The newest migration of core: an older one alone would leave the plan empty.
    from django.db.migrations.loader import MigrationLoader

    newest = next(n for app, n in MigrationLoader(connection).graph.leaf_nodes() if app == "core")
    MigrationRecorder(connection).record_unapplied("core", newest)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["migrations"] == {
        "name": "migrations",
        "status": "failing",
        "unapplied": [f"core.{newest}"],
    }


def test_a_task_waiting_longer_than_the_threshold_is_not_ready(client, worker, settings):
    settings.FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS = 600
    send_outbox_message.enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=300))
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert checks(response)["task_queue"]["depth"] == 1
    assert 300 <= checks(response)["task_queue"]["oldest_age_seconds"] < 310

    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=601))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["task_queue"]["status"] == "failing"


def test_a_deferred_task_is_not_backlog(client, worker):
    send_outbox_message.using(run_after=timezone.now() + dt.timedelta(hours=1)).enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(days=1))
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert checks(response)["task_queue"]["depth"] == 0


def test_the_queue_depth_threshold_comes_from_the_settings(client, worker, settings):
    settings.FAKTURA_HEALTH_QUEUE_MAX_DEPTH = 2
    for pk in (1, 2, 3):
        send_outbox_message.enqueue(pk)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["task_queue"]["depth"] == 3


def _mail(**fields) -> OutboxMessage:
    values = {
        "event": OutboxMessage.Event.STAFF_DIGEST,
        "from_email": "rechnung@muster-software.de",
        "to": ["buchhaltung@beispiel.de"],
        "subject": "Hinweis",
        "created_by": "system:test",
        "created_at": clock.now(),
    }
    values.update(fields)
    return OutboxMessage.objects.create(**values)


def test_an_outbox_backlog_older_than_the_threshold_is_not_ready(client, worker, settings):
    settings.FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS = 3600
    _mail(created_at=clock.now() - dt.timedelta(minutes=30))
    # Sent, failed, and waiting for a retry: none of them is backlog.
    _mail(created_at=clock.now() - dt.timedelta(days=3), state="sent")
    _mail(created_at=clock.now() - dt.timedelta(days=3), state="failed")
    _mail(
        created_at=clock.now() - dt.timedelta(days=3),
        next_attempt_at=clock.now() + dt.timedelta(minutes=5),
    )
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert checks(response)["outbox"]["due"] == 1
    assert checks(response)["outbox"]["oldest_age_seconds"] == 1800.0

    _mail(created_at=clock.now() - dt.timedelta(hours=2))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert checks(response)["outbox"] == {
        "name": "outbox",
        "status": "failing",
        "due": 2,
        "oldest_age_seconds": 7200.0,
        "max_age_seconds": 3600.0,
    }


def test_failed_jobs_of_the_last_day_warn_but_stay_ready(client, worker):
    now = clock.now()
    for finished in (now - dt.timedelta(hours=2), now - dt.timedelta(hours=30)):
        JobRun.objects.create(job="billing-run", due_at=finished, as_of=finished.date(),
                              state="failed", worker_id="w", started_at=finished,
                              finished_at=finished)  # fmt: skip
    # Failed with a retry pending is not a failure yet.
    JobRun.objects.create(job="dunning-run", due_at=now, as_of=now.date(), state="failed",
                          worker_id="w", started_at=now, finished_at=now,
                          next_attempt_at=now + dt.timedelta(minutes=5))  # fmt: skip
    send_outbox_message.enqueue(1)
    DBTaskResult.objects.update(status="FAILED", finished_at=timezone.now())
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert checks(response)["failed_jobs"] == {
        "name": "failed_jobs",
        "status": "warning",
        "tasks": 1,
        "scheduled": 1,
        "window_hours": 24,
    }


def test_ready_shows_maintenance(client, worker):
    set_maintenance(actor=ADMIN, active=True, message="Umzug der Datenbank")
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "maintenance"
    assert checks(response)["maintenance"] == {
        "name": "maintenance",
        "status": "warning",
        "active": True,
        "since": "2026-11-16T09:00:00+00:00",
    }


def test_a_database_error_is_not_ready_and_tells_no_details(client, worker, monkeypatch):
    def broken():
        raise DatabaseError('could not connect to server at "db.internal" as user "faktura"')

    monkeypatch.setattr(health, "check_database", broken)
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"][0] == {"name": "database", "status": "failing", "error": "database error"}
    assert {c["status"] for c in body["checks"][1:]} == {"skipped"}
    assert "db.internal" not in response.content.decode()


def test_ready_tells_no_hostnames_nor_worker_ids(client, worker):
    text = client.get("/health/ready").content.decode()
    assert worker not in text
    assert socket.gethostname() not in text


def test_live_and_ready_refuse_writes(client):
    assert client.post("/health/live").status_code == 405
    assert client.post("/health/ready").status_code == 405
