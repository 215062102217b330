"""Bank statement parsers (camt.052/053/054, MT940, CSV): bytes in, frozen dataclasses out."""
