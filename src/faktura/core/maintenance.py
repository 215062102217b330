"""Reading the maintenance switch; it is changed by ``core.services.set_maintenance``.

While maintenance is on, every write through a front door is refused with 503
(``core.middleware.MaintenanceMiddleware``), reads go on, and the scheduler claims no due
time (``scheduling.runner.tick``): the missed due times run after it ends, each once, as
after any downtime.
"""

from __future__ import annotations

from django.conf import settings

from faktura.core.models import MaintenanceMode

CODE = "maintenance"
# German first (the users' language), English for the API's clients; one text for every door.
NOTICE = (
    "Faktura wird gerade gewartet: Änderungen sind vorübergehend nicht möglich, "
    "Lesen geht weiter. Bitte später erneut versuchen. / "
    "Faktura is under maintenance: changes are not possible right now, reading works. "
    "Please try again later."
)


def current() -> MaintenanceMode | None:
    """The switch's row while maintenance is on, else None (one indexed query)."""
    return MaintenanceMode.objects.filter(pk=MaintenanceMode.SINGLETON, active=True).first()


def is_active() -> bool:
    return current() is not None


def notice(state: MaintenanceMode) -> str:
    """The refusal text: the standard notice, then the operator's own message if any."""
    return f"{NOTICE} – {state.message}" if state.message else NOTICE


def retry_after_seconds() -> int:
    return int(settings.FAKTURA_MAINTENANCE_RETRY_AFTER_SECONDS)
