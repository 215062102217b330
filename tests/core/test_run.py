"""`faktura run` from nothing: banner with every demo login, one short line per mail."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(
    "postgres" in os.environ.get("DATABASE_URL", ""),
    reason="`faktura run` uses its own SQLite data directory; the SQLite pass covers it",
)

WAIT_SECONDS = 300
LOGINS = (
    "admin / faktura-admin",
    "buchhaltung / faktura-demo",
    "freigabe / faktura-demo",
    "kasse / faktura-demo",
    "ansicht / faktura-demo",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_prints_the_logins_and_one_short_line_per_mail(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "DATABASE_URL", "DJANGO_SETTINGS"))
    }
    env["FAKTURA_DATA_DIR"] = str(tmp_path / "data")
    addr = f"127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "run", "--addr", addr],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    mails: list[str] = []
    try:
        watch = selectors.DefaultSelector()
        assert process.stdout is not None
        watch.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + WAIT_SECONDS
        while len(mails) < 5 and time.monotonic() < deadline:
            if not watch.select(timeout=1):
                continue
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("[mail] "):
                mails.append(line)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    output = "\n".join(lines)
    assert len(mails) >= 5, output[-3000:]
    for login in LOGINS:
        assert login in output
    assert "pikepdf C++ to Python logger bridge" not in output
    # One line per mail: no base64 body, no MIME headers on the console.
    assert not [line for line in lines if re.fullmatch(r"[A-Za-z0-9+/=]{60,}", line)]
    assert "Content-Transfer-Encoding" not in output
    for mail in mails:
        assert re.match(r"\[mail\] to \S+@\S+: .+ \(.+\.(pdf|xml), \d+ KB\) → .+\.eml$", mail)
    assert len(list((tmp_path / "data" / "mail").glob("*.eml"))) >= len(mails)
