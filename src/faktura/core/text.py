"""Text that ends up on a document or a mail: refused at the boundary if it cannot be shown.

A name, an address, a note or a reason is copied into finalized documents, their e-invoice
XML and their PDF/A, which must then render for ten years (§ 147 AO). Some characters can
never get there: XML 1.0 forbids the C0 controls, a PDF/A must embed a glyph for every
character and no font draws a control character, and a bidi override (U+202E) in a name
reverses what the reader sees of the rest of the line. Such text is refused where it enters
(services, API, admin), never discovered when a finalized document fails to render.

Refused everywhere: C0 controls (multi-line fields keep tab, line feed and carriage
return), DEL and the C1 controls U+0080–U+009F, bidi embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069), lone surrogates, noncharacters, line and paragraph
separators, private-use and unassigned code points, and every character that no font of
the renderer covers (``documents.pdf.fonts`` ships Inter and the fallbacks; their coverage
is read from the fonts' cmaps once per process). Invisible format characters that shaping
handles (ZWJ, ZWNJ, the LRM/RLM marks, the soft hyphen) pass.

Finalized documents are never re-checked: what was frozen before this check renders as it
did, or is blocked with its error by the document pipeline, never silently changed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from faktura.core.errors import InvalidInput

CODE = "text_not_printable"

_MULTILINE_ALLOWED = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Zero-width characters the shaper handles without a glyph of their own (Unicode
# Default_Ignorable, in scripts a customer's name realistically needs).
_INVISIBLE_OK = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad")


def _why(char: str, *, multiline: bool) -> str | None:
    """The reason ``char`` cannot be on a document, or None if it can."""
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        if multiline and char in _MULTILINE_ALLOWED:
            return None
        return "control"
    if 0x80 <= code <= 0x9F:
        return "control"
    if char in _BIDI_CONTROLS:
        return "bidi"
    if 0xD800 <= code <= 0xDFFF:
        return "surrogate"
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
        return "noncharacter"
    if char in ("\u2028", "\u2029"):
        return "control"
    if char in _INVISIBLE_OK or char.isspace():
        return None
    if unicodedata.category(char) in ("Co", "Cn"):
        return "control"  # private use or unassigned: no meaning an e-invoice receiver shares
    covered = _coverage()
    if covered is not None and code not in covered:
        return "font"
    return None


@cache
def _coverage() -> frozenset[int] | None:
    """Code points some font of the PDF renderer draws; None if the fonts are not installed."""
    from faktura.documents.pdf.fonts import covered_codepoints

    return covered_codepoints()


def first_unprintable(value: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """The first character of ``value`` that cannot be rendered and why, or None."""
    if value.isascii() and value.isprintable():
        return None  # the common case, decided without looking at each character
    for char in value:
        why = _why(char, multiline=multiline)
        if why is not None:
            return char, why
    return None


def describe(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how an error names a character."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def message(char: str, why: str, *, label: str) -> str:
    """The error for staff and API clients: which field, which character, why."""
    values = {"char": describe(char), "field": label}
    if why == "font":
        return (
            _(
                "Das Zeichen %(char)s im Feld „%(field)s“ kann in Rechnungen nicht dargestellt "
                "werden (keine Schrift enthält es)."
            )
            % values
        )
    if why == "bidi":
        return (
            _(
                "Das Zeichen %(char)s im Feld „%(field)s“ ist nicht erlaubt: "
                "es würde die Leserichtung des Textes umkehren."
            )
            % values
        )
    return (
        _(
            "Das Zeichen %(char)s im Feld „%(field)s“ ist nicht erlaubt (Steuer- oder "
            "Sonderzeichen, das in Rechnungen nicht darstellbar ist)."
        )
        % values
    )


def check_text(
    value: object, *, field: str, label: str | None = None, multiline: bool = False
) -> None:
    """Raise InvalidInput (code ``text_not_printable``) if ``value`` cannot be rendered."""
    if not isinstance(value, str):
        return
    found = first_unprintable(value, multiline=multiline)
    if found is not None:
        raise InvalidInput(message(*found, label=label or field), code=CODE, field=field)


def check_fields(values: dict[str, Any], *, multiline: Iterable[str] = ()) -> None:
    """``check_text`` for each string in ``values`` (field name → value)."""
    lines = set(multiline)
    for field, value in values.items():
        check_text(value, field=field, multiline=field in lines)


def field_errors(
    instance: Any, fields: Iterable[str], *, multiline: Iterable[str] = ()
) -> dict[str, ValidationError]:
    """For a model's ``clean()``: field → ValidationError (code ``text_not_printable``)."""
    lines = set(multiline)
    errors: dict[str, ValidationError] = {}
    for name in fields:
        value = getattr(instance, name, None)
        if not isinstance(value, str):
            continue
        found = first_unprintable(value, multiline=name in lines)
        if found is not None:
            label = str(instance._meta.get_field(name).verbose_name)
            errors[name] = ValidationError(message(*found, label=label), code=CODE)
    return errors
