"""The leases of background work: each worker's heartbeat."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One running ``faktura worker`` process; ``last_seen`` is its lease.

    A worker refreshes ``last_seen`` every few seconds from a thread of its own, also while
    it runs a long task. When ``last_seen`` is older than the lease
    (``FAKTURA_WORKER_LEASE_SECONDS``) the process is taken for dead: any other worker puts
    the tasks it had claimed back in the queue and releases the mail it was sending.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    pid = models.PositiveIntegerField()
    hostname = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} (pid {self.pid} on {self.hostname})"
