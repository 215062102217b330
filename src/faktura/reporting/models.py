"""The reporting app's settings and logs (account mappings, deletion log, legal holds)."""
