"""The mail backend for running without SMTP: one line per mail, the whole mail in a file.

Django's console backend prints every mail whole, and an invoice mail carries its PDF in
base64: the demo's first start alone printed 77,000 lines. Here each mail becomes one line
on standard output (recipients, subject, attachments, where the file is) and the complete
message is written as an ``.eml`` file into ``EMAIL_FILE_PATH``, which any mail program opens.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from faktura.core import clock


class ConsoleSummaryBackend(BaseEmailBackend):
    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)
        self.stream = kwargs.get("stream") or sys.stdout

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            path = self._write(message)
            self.stream.write(summary_line(message, path) + "\n")
            self.stream.flush()
            sent += 1
        return sent

    def _write(self, message: EmailMessage) -> Path:
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        message_id = str(message.extra_headers.get("Message-ID", "")).strip("<>")
        stem = f"{stamp}-{message_id.partition('@')[0] or id(message)}"
        path = self.directory / f"{stem}.eml"
        counter = 1
        while path.exists():
            counter += 1
            path = self.directory / f"{stem}-{counter}.eml"
        path.write_bytes(message.message().as_bytes(linesep="\n"))
        return path


def summary_line(message: EmailMessage, path: Path) -> str:
    """``[mail] to a@example.org: Rechnung RE-2026-00001 (RE-2026-00001.pdf, 41 KB) → file``."""
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, tuple):
            name, content = attachment[0], attachment[1]
        else:  # a MIMEBase part
            name, content = attachment.get_filename() or "part", attachment.get_payload()
        size = len(content) if isinstance(content, bytes | str) else 0
        attachments.append(f"{name}, {max(1, round(size / 1024))} KB")
    recipients = ", ".join([*message.to, *message.cc]) or "(no recipient)"
    listed = f" ({'; '.join(attachments)})" if attachments else ""
    return f"[mail] to {recipients}: {message.subject}{listed} → {path}"
