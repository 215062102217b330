"""Django's PostgreSQL backend; only the health check of a kept connection differs.

With ``conn_health_checks`` Django asks ``SELECT 1`` before a request's first query on a
kept connection, so that a request after a database restart reconnects instead of
failing: a round trip per request, a tenth of an API read's work. Between requests
nothing is outstanding on the connection, so the server sends nothing unless it is
closing it (restart, terminated backend, idle timeout): then the socket is readable.
Only a readable socket (or a connection psycopg knows is broken) is asked ``SELECT 1``.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN)
            said_something = bool(poller.poll(0))
        except (OSError, ValueError):
            return False
        # A notice, a notification or the farewell of a closing server: ask it.
        return not said_something or super().is_usable()
