"""Gunicorn settings for `faktura serve`; the command line sets bind, workers and threads."""

import os

# Threaded workers keep a client's or proxy's connection open this long between requests, which
# spares a TCP handshake per request (sync workers close after each response).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# SIGTERM: workers finish the requests they have, for at most this long, then exit.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
# The worker heartbeat file in memory: a container's overlay filesystem can stall it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Gunicorn's control socket lives in $HOME by default: two servers on one host would share it.
control_socket_disable = True
# One log line per request on stdout, off with GUNICORN_ACCESS_LOG=off.
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG", "") == "off" else "-"
# Recycle workers now and then, so a slow leak in a library never grows unbounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
