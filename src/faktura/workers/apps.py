from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Leases and sweeps of the background workers (``faktura worker``); no admin, no UI."""

    name = "faktura.workers"
    label = "workers"
