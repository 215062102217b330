"""The back office at ``/``: the staff's daily work, on the services of the domain apps.

Views parse input, call a service or a selector and render a template; no business rule
lives here (``faktura.core.permissions`` decides what a role may do).
"""
