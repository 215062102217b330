"""Pure helpers for matching payments: document numbers in remittance text, name likeness.

Payers type invoice numbers by hand, banks cut remittance text into 27/35/140-character
pieces, and scanned transfer slips go through OCR. ``find_document_numbers`` therefore
reads ``RE-2026-00042`` also as ``RE 2026 00042``, ``RE202600042``, ``re-2026-42``,
``RE-2026-000\\n42`` and ``RE-2O26-OOO42``, and returns it in the number range's own
form. ``name_similarity`` compares payer names as people write them: umlauts or not,
with or without legal form, surname first or last.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

# Characters OCR confuses with digits (O/o ↔ 0, I/l ↔ 1, S ↔ 5), accepted where the
# number range has a digit and read as that digit.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5"})
_DIGIT = "[0-9OoIlS]"
# Banks break remittance lines inside words and numbers; a line break (with the
# spaces around it) may stand anywhere inside a number, a plain space may not.
_BREAK = r"(?:[ \t]*\r?\n[ \t]*)?"
# Between the parts of a number: any separator or none ("RE-2026", "RE 2026", "RE2026").
_SEPARATOR = r"[\s\-_/.:#]*"
_SEPARATOR_CHARS = frozenset(" -_/.:#")
# Letters of the fixed text that OCR (or a careless typist) renders as digits.
_LETTER_CLASSES = {"o": "[Oo0]", "i": "[IiLl1]", "l": "[IiLl1]", "s": "[Ss5]"}
_YEARS = range(1990, 2100)


@dataclass(frozen=True, slots=True)
class DocumentNumberPattern:
    """A number range pattern (``RE-{year}-{seq:05d}``) compiled for searching."""

    pattern: str
    regex: re.Pattern[str]


@lru_cache(maxsize=64)
def compile_number_pattern(pattern: str) -> DocumentNumberPattern:
    """Compile a number range pattern with the fields ``{year}`` and ``{seq[:0Nd]}``.

    Raises ValueError for other fields or format specs.
    """
    parts: list[str] = []
    first = True
    single_letter_prefix = False
    for literal, field, spec, _conversion in string.Formatter().parse(pattern):
        if literal:
            piece = _literal(literal, leading=first)
            if parts and parts[-1] == _SEPARATOR and piece.startswith(_SEPARATOR):
                piece = piece[len(_SEPARATOR) :]
            if piece:
                parts.append(piece)
            single_letter_prefix = first and len(literal.strip("".join(_SEPARATOR_CHARS))) == 1
            first = False
        if field is None:
            continue
        if f"(?P<{field}>" in "".join(parts):
            raise ValueError(f"{{{field}}} occurs twice in number pattern {pattern!r}")
        if not first and not parts[-1].endswith(_SEPARATOR):
            parts.append(_SEPARATOR)
        if field == "year":
            if spec not in ("", "d", "04d"):
                raise ValueError(f"unsupported format for year: {spec!r}")
            parts.append(f"(?P<year>{_positions(4)})")
        elif field == "seq":
            parts.append(f"(?P<seq>{_sequence(spec or '')})")
        else:
            raise ValueError(f"unsupported field {field!r} in number pattern {pattern!r}")
        parts.append(_SEPARATOR)
        first = False
    if "(?P<seq>" not in "".join(parts):
        raise ValueError(f"number pattern {pattern!r} has no {{seq}}")
    while parts and parts[-1] == _SEPARATOR:
        parts.pop()
    # A one-letter prefix ("R{seq:06d}") must start a word, or "Nr123456" would match.
    start = r"(?<![A-Za-z0-9])" if single_letter_prefix else r"(?<![0-9])"
    return DocumentNumberPattern(pattern=pattern, regex=re.compile(start + "".join(parts)))


def _literal(text: str, *, leading: bool) -> str:
    pieces: list[str] = []
    for char in text:
        if char in _SEPARATOR_CHARS:
            if not pieces or pieces[-1] != _SEPARATOR:
                pieces.append(_SEPARATOR)
        elif char.isdigit():
            pieces.append(_DIGIT)
        elif char.isalpha():
            lower = char.lower()
            pieces.append(
                _LETTER_CLASSES.get(lower, f"[{re.escape(lower)}{re.escape(char.upper())}]")
            )
        else:
            pieces.append(re.escape(char))
        if pieces[-1] != _SEPARATOR:
            pieces.append(_BREAK)
    if pieces and pieces[-1] == _BREAK:
        pieces.pop()
    if leading and pieces and pieces[0] == _SEPARATOR:
        pieces.pop(0)
    return "".join(pieces)


def _positions(count: int) -> str:
    """``count`` digit positions, each possibly an OCR look-alike, line breaks between."""
    return _DIGIT + f"(?:{_BREAK}{_DIGIT}){{{count - 1}}}" if count > 1 else _DIGIT


def _sequence(spec: str) -> str:
    match = re.fullmatch(r"0?(\d*)d?", spec)
    if match is None or (spec and not spec.endswith("d")):
        raise ValueError(f"unsupported format for seq: {spec!r}")
    width = int(match.group(1) or 0)
    if width <= 1:
        return r"\d{1,10}(?![0-9])"
    # In order: the full zero-padded width (OCR and line breaks allowed), a larger
    # number that outgrew the padding, or leading zeros left out ("RE-2026-42").
    return (
        f"{_positions(width)}(?![0-9])"
        f"|[1-9][0-9]{{{width},{width + 2}}}(?![0-9])"
        f"|[0-9]{{1,{width - 1}}}(?![0-9])"
    )


def find_document_numbers(text: str, *, patterns: Iterable[str]) -> list[str]:
    """Return the document numbers of ``patterns`` found in ``text``, in order, once each.

    Each is returned as the number range writes it (``RE-2026-00042``), however the
    payer or the OCR wrote it. A candidate needs a real digit in its sequence number and
    a plausible year (1990–2099).
    """
    found: list[str] = []
    for pattern in patterns:
        compiled = compile_number_pattern(pattern)
        for match in compiled.regex.finditer(text):
            number = _canonical(compiled.pattern, match)
            if number is not None and number not in found:
                found.append(number)
    return found


def _canonical(pattern: str, match: re.Match[str]) -> str | None:
    raw_seq = "".join(match.group("seq").split())
    if not any(char.isdigit() for char in raw_seq):
        return None
    seq = int(raw_seq.translate(_OCR_DIGITS))
    year = 0
    if "year" in match.re.groupindex:
        raw_year = "".join(match.group("year").split())
        if not any(char.isdigit() for char in raw_year):
            return None
        year = int(raw_year.translate(_OCR_DIGITS))
        if year not in _YEARS:
            return None
    if seq <= 0:
        return None
    return pattern.format(year=year, seq=seq)


# ------------------------------------------------------------------------------ names

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Legal forms and words that say nothing about who pays (German and common foreign).
_NOISE_WORDS = frozenset(
    {
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "gbr",
        "ug",
        "haftungsbeschraenkt",
        "ek",
        "ekfr",
        "ekfm",
        "ev",
        "eg",
        "se",
        "kgaa",
        "partg",
        "partgmbb",
        "co",
        "und",
        "ltd",
        "limited",
        "inc",
        "llc",
        "corp",
        "sarl",
        "sa",
        "bv",
        "nv",
        "plc",
        "firma",
        "fa",
        "herr",
        "herrn",
        "frau",
        "dr",
        "prof",
        "dipl",
        "ing",
    }
)


@lru_cache(maxsize=4096)
def name_tokens(name: str) -> tuple[str, ...]:
    """Return the sorted words of a name that identify it (see ``name_similarity``)."""
    text = name.casefold().translate(_UMLAUTS)
    text = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )
    text = text.replace("&", " und ").replace("+", " und ")
    # "e.K." → "ek", "e. V." → "e v" → joined below
    text = re.sub(r"[.'`´]", "", text)
    words = re.findall(r"[a-z0-9]+", text)
    merged: list[str] = []
    for word in words:
        # Runs of single letters are abbreviations written with spaces ("e K", "e V").
        if len(word) == 1 and merged and len(merged[-1]) <= 2 and merged[-1].isalpha():
            merged[-1] += word
        else:
            merged.append(word)
    return tuple(sorted(word for word in merged if word not in _NOISE_WORDS))


def _ratio(a: str, b: str) -> float:
    first, second = (a, b) if a <= b else (b, a)  # SequenceMatcher is not symmetric
    return SequenceMatcher(None, first, second, autojunk=False).ratio()


def _word_score(word: str, other: str) -> float:
    if word == other:
        return 1.0
    short, long_ = (word, other) if len(word) <= len(other) else (other, word)
    if len(short) == 1 and long_.startswith(short):
        return 0.9  # an initial: "H." for "Hans"
    return _ratio(word, other)


def name_similarity(a: str, b: str) -> float:
    """Return how alike two party names are, from 0.0 (nothing alike) to 1.0 (same).

    Case, umlauts (ä = ae), accents, punctuation, legal forms (GmbH, AG, e.K., …),
    salutations and the order of the words do not count. Symmetric. Names with no
    identifying word left score 0.0.
    """
    tokens_a = name_tokens(a)
    tokens_b = name_tokens(b)
    if not tokens_a or not tokens_b:
        return 0.0
    if tokens_a == tokens_b:
        return 1.0

    def coverage(left: tuple[str, ...], right: tuple[str, ...]) -> float:
        return sum(max(_word_score(w, o) for o in right) for w in left) / len(left)

    by_words = (coverage(tokens_a, tokens_b) + coverage(tokens_b, tokens_a)) / 2
    # Written together or apart: "Muster Software" / "MusterSoftware".
    together = _ratio("".join(tokens_a), "".join(tokens_b))
    return round(min(1.0, max(by_words, together)), 6)
