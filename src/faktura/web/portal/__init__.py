"""The customer portal at /portal/: a customer's own invoices, payments, mandates and
contracts, signed in by a link to their e-mail address."""
