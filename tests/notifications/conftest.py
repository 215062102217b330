"""Fixtures of the notification tests: archive directory, a real SMTP server, customers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    """An aiosmtpd server on localhost; ``reply`` answers DATA (250 accepts the mail)."""

    port: int
    reply: str = "250 OK"
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply.startswith("250"):
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            self.received.append((list(envelope.rcpt_tos), message))
        return self.reply


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "rechnung@muster-software.de"


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    use_smtp(settings, server.port)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def no_smtp_server(settings) -> int:
    """SMTP settings pointing at a localhost port where nothing listens."""
    port = free_port()
    use_smtp(settings, port)
    return port


@pytest.fixture
def english_customer(company, actor):
    from faktura.customers.services import create_customer

    return create_customer(
        actor=actor,
        kind="business",
        name="Northwind Ltd",
        contact_name="Jane Smith",
        street="High Street",
        house_number="10",
        postcode="SW1A 1AA",
        city="London",
        country="GB",
        email="accounts@northwind.example",
        additional_emails="cfo@northwind.example",
        language="en",
    )
