"""Fixtures of the webhook tests: a real HTTP receiver on localhost, an admin, the tasks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tasks_db.models import DBTaskResult, get_date_max

from faktura.core import clock
from faktura.core.actors import Actor


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the customer's product would run: records each POST, answers ``status``."""

    url: str
    status: int = 200
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.FAKTURA_WEBHOOKS_ALLOW_HTTP = True
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def admin() -> Actor:
    return Actor(label="user:admin", user_id=None, roles=frozenset({"admin"}))


def due_webhook_tasks() -> list[DBTaskResult]:
    """The webhook send tasks a worker would pick up now (deferred ones when due)."""
    now = clock.now()
    return [
        row
        for row in DBTaskResult.objects.filter(status="READY").order_by("enqueued_at", "id")
        if row.task_path.startswith("faktura.webhooks.tasks.")
        and (row.run_after == get_date_max() or row.run_after <= now)
    ]


def run_webhook_tasks() -> int:
    """Run the due webhook tasks as a worker would, until none is due."""
    ran = 0
    while rows := due_webhook_tasks():
        for row in rows:
            row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
            row.set_successful(None)
            ran += 1
    return ran
