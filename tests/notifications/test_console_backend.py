"""Without SMTP a mail is one line on the console and a whole .eml file in the data folder."""

from __future__ import annotations

import email
import io
from email import policy

from django.core.mail import EmailMultiAlternatives

from faktura.notifications.console import ConsoleSummaryBackend


def test_one_line_per_mail_and_the_whole_mail_in_a_file(tmp_path):
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 200
    stream = io.StringIO()
    backend = ConsoleSummaryBackend(file_path=str(tmp_path), stream=stream)
    message = EmailMultiAlternatives(
        subject="Rechnung RE-2026-00001",
        body="Guten Tag,\nanbei Ihre Rechnung.",
        from_email="rechnung@muster-software.de",
        to=["kunde@example.org"],
        cc=["buchhaltung@example.org"],
        headers={"Message-ID": "<faktura-outbox-7@muster-software.de>"},
        connection=backend,
    )
    message.attach_alternative("<p>Guten Tag</p>", "text/html")
    message.attach("RE-2026-00001.pdf", pdf, "application/pdf")

    assert message.send() == 1

    printed = stream.getvalue().splitlines()
    assert len(printed) == 1
    line = printed[0]
    assert line.startswith("[mail] to kunde@example.org, buchhaltung@example.org: ")
    assert "Rechnung RE-2026-00001 (RE-2026-00001.pdf, 50 KB)" in line
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    assert str(files[0]) in line
    assert "faktura-outbox-7" in files[0].name
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<faktura-outbox-7@muster-software.de>"
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["RE-2026-00001.pdf"]
    assert attachments[0].get_content() == pdf


def test_the_default_backend_without_smtp_is_the_summary_backend():
    import importlib
    import os

    from faktura import settings as faktura_settings

    saved = os.environ.pop("EMAIL_HOST", None), os.environ.pop("EMAIL_BACKEND", None)
    try:
        reloaded = importlib.reload(faktura_settings)
        assert reloaded.EMAIL_BACKEND == "faktura.notifications.console.ConsoleSummaryBackend"
    finally:
        for name, value in zip(("EMAIL_HOST", "EMAIL_BACKEND"), saved, strict=True):
            if value is not None:
                os.environ[name] = value
        importlib.reload(faktura_settings)


def test_two_mails_in_one_second_get_two_files(tmp_path):
    stream = io.StringIO()
    backend = ConsoleSummaryBackend(file_path=str(tmp_path), stream=stream)
    for _ in range(2):
        EmailMultiAlternatives(
            subject="Hallo", body="x", to=["a@example.org"], connection=backend
        ).send()
    assert len(list(tmp_path.glob("*.eml"))) == 2
    assert len(stream.getvalue().splitlines()) == 2
