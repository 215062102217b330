"""Operating an installation: backup and restore (``faktura backup``, ``faktura restore``)."""
