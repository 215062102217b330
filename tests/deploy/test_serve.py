"""`faktura serve`: granian with the production settings answers the API and the admin with its
static files, and stops gracefully on SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    "postgres" in os.environ.get("DATABASE_URL", ""),
    reason="`faktura serve` runs against its own SQLite data directory here",
)

START_SECONDS = 120
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _faktura(env: dict[str, str], cwd, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "faktura.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    # The first request of a worker imports the app: slow on a busy machine.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        # Case-insensitive: granian writes header names in lower case.
        return response.status, response.read(), response.headers
    finally:
        connection.close()


def _wait_until_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"faktura serve did not listen on {port} in {START_SECONDS} s")


def test_serve_answers_api_and_admin_and_exits_0_on_sigterm(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "DATABASE_URL", "DJANGO_SETTINGS", "DEBUG"))
    }
    env.update(
        # This checkout's code, also from another working directory.
        PYTHONPATH=str(SRC),
        FAKTURA_DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY="test-" + "k" * 50,
        DJANGO_SUPERUSER_PASSWORD="serve-test-password",
    )
    _faktura(env, tmp_path, "migrate", "--noinput")
    _faktura(
        env, tmp_path, "createsuperuser", "--noinput", "--username", "ops", "--email", "o@x.de"
    )
    key = re.search(r"^fk_live_\S+$", _faktura(env, tmp_path, "createapikey", "ops-key"), re.M)
    assert key is not None
    port = _free_port()
    serve = ["serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", *serve],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_listening(port, process)

        status, body, _ = _get(
            port, "/api/v1/invoices?limit=20", {"Authorization": f"Bearer {key.group(0)}"}
        )
        assert status == 200, body
        assert json.loads(body) == {
            "object": "list",
            "data": [],
            "has_more": False,
            "next_cursor": None,
        }
        status, _, _ = _get(port, "/api/v1/invoices", {"Authorization": "Bearer fk_live_wrong"})
        assert status == 401

        status, body, _ = _get(port, "/admin/login/")
        assert status == 200
        assert b'name="username"' in body
        stylesheet = re.search(rb'href="(/static/admin/css/[^"]+\.css)"', body)
        assert stylesheet is not None
        status, css, headers = _get(port, stylesheet.group(1).decode())
        assert status == 200
        assert len(css) > 100
        assert headers["Content-Type"].startswith("text/css")
        # Collected at start into the data directory, compressed for WhiteNoise.
        assert (tmp_path / "data" / "static" / "admin" / "css" / "base.css.gz").exists()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read() if process.stdout else ""
    assert "Spawning worker-2" in output
    assert "Shutting down granian" in output
