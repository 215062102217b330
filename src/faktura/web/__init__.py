"""The web front doors: the back office for staff (``backoffice``) and, later, the portal."""
