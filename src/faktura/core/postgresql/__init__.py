"""Django's PostgreSQL backend with a health check of a kept connection that costs no
round trip (``base.DatabaseWrapper.is_usable``)."""
