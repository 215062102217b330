"""Document numbers in remittance text, and name likeness; examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faktura.banking.remittance import (
    _NOISE_WORDS,
    compile_number_pattern,
    find_document_numbers,
    name_similarity,
    name_tokens,
)

INVOICES = ["RE-{year}-{seq:05d}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rechnung RE-2026-00042 vom 01.12.", ["RE-2026-00042"]),
        ("RE 2026 00042", ["RE-2026-00042"]),
        ("RE202600042", ["RE-2026-00042"]),
        ("re-2026-00042 danke", ["RE-2026-00042"]),
        ("Re.Nr. RE/2026/00042", ["RE-2026-00042"]),
        ("RE-2026-42 Kunde 1001", ["RE-2026-00042"]),  # leading zeros left out
        ("RE-2026-000\n42", ["RE-2026-00042"]),  # bank line break inside the number
        ("RE-2026-\n00042", ["RE-2026-00042"]),
        ("R\nE-2026-00042", ["RE-2026-00042"]),
        ("RE-2O26-OOO42", ["RE-2026-00042"]),  # OCR: O for 0
        ("RE-2026-0OO4Z", []),  # Z is no digit
        ("RE-2026-IOO42", ["RE-2026-10042"]),  # OCR: I for 1
        ("RE-2026-0l042", ["RE-2026-01042"]),  # OCR: l for 1
        ("RE-2026-000S2", ["RE-2026-00052"]),  # OCR: S for 5
        ("RE-2026-00042 15,00 EUR", ["RE-2026-00042"]),  # the amount is not absorbed
        ("RechnungRE-2026-00042Kunde", ["RE-2026-00042"]),  # MT940 segments glued
        ("RE-2026-123456", ["RE-2026-123456"]),  # outgrew the padding
        ("RE-2026-000421", []),  # six digits with a zero: not a number of this range
        ("RE-2026-Sonstiges", []),
        ("RE-1899-00001", []),  # implausible year
        ("RE-2026-00000", []),
        ("RE-2026-00042, RE-2026-00043 und re 2026 00042", ["RE-2026-00042", "RE-2026-00043"]),
        ("Kundennummer 2026 00042", []),
        ("", []),
    ],
)
def test_find_invoice_numbers(text: str, expected: list[str]):
    assert find_document_numbers(text, patterns=INVOICES) == expected


def test_several_patterns_are_searched_in_order():
    text = "Gutschrift GS-2026-0007 zu RE-2026-00042"
    patterns = ["RE-{year}-{seq:05d}", "GS-{year}-{seq:04d}"]
    assert find_document_numbers(text, patterns=patterns) == ["RE-2026-00042", "GS-2026-0007"]


def test_pattern_without_year():
    assert find_document_numbers("Beleg R000123, r 000124", patterns=["R{seq:06d}"]) == [
        "R000123",
        "R000124",
    ]


def test_one_letter_prefix_must_start_a_word():
    assert find_document_numbers("Nr123456 Kdnr456789", patterns=["R{seq:06d}"]) == []


def test_pattern_starting_with_the_year():
    assert find_document_numbers("Zahlung 2026/0042", patterns=["{year}/{seq:04d}"]) == [
        "2026/0042"
    ]


def test_unpadded_sequence():
    assert find_document_numbers("Rechnung 2026-7", patterns=["{year}-{seq}"]) == ["2026-7"]


@pytest.mark.parametrize(
    "pattern",
    ["RE-{month}-{seq:05d}", "RE-{year:x}-{seq}", "RE-{year}", "RE-{seq:5s}", "{seq}-{seq}"],
)
def test_unsupported_patterns_are_refused(pattern: str):
    with pytest.raises(ValueError, match=r"pattern|format|twice|seq|year"):
        compile_number_pattern(pattern)


years = st.integers(min_value=1990, max_value=2099)
sequences = st.integers(min_value=1, max_value=99999)
separators = st.sampled_from(["-", " ", "", "/", " - ", "\n", ".", "_"])


@settings(max_examples=200, deadline=None)
@given(year=years, seq=sequences, first=separators, second=separators)
def test_any_way_of_writing_the_number_is_found(year: int, seq: int, first: str, second: str):
    written = f"RE{first}{year}{second}{seq:05d}"
    canonical = f"RE-{year}-{seq:05d}"
    assert find_document_numbers(f"Zahlung {written} danke", patterns=INVOICES) == [canonical]
    assert find_document_numbers(written.lower(), patterns=INVOICES) == [canonical]


@settings(max_examples=200, deadline=None)
@given(year=years, seq=sequences, cut=st.integers(min_value=1, max_value=4))
def test_a_line_break_inside_the_sequence_is_tolerated(year: int, seq: int, cut: int):
    digits = f"{seq:05d}"
    text = f"RE-{year}-{digits[:cut]}\n{digits[cut:]}"
    assert find_document_numbers(text, patterns=INVOICES) == [f"RE-{year}-{seq:05d}"]


@settings(max_examples=200, deadline=None)
@given(year=years, seq=sequences, data=st.data())
def test_ocr_look_alikes_in_digit_positions_are_read_as_digits(year: int, seq: int, data):
    digits = list(f"{year}{seq:05d}")
    look_alike = {"0": "O", "1": "I", "5": "S"}
    positions = [i for i, d in enumerate(digits) if d in look_alike]
    chosen = data.draw(st.sets(st.sampled_from(positions)) if positions else st.just(set()))
    # At least one real digit must remain in the sequence number.
    if all(i in chosen for i in range(4, 9)):
        chosen = chosen - {8}
    noisy = "".join(look_alike[d] if i in chosen else d for i, d in enumerate(digits))
    text = f"RE-{noisy[:4]}-{noisy[4:]}"
    assert find_document_numbers(text, patterns=INVOICES) == [f"RE-{year}-{seq:05d}"]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_every_number_found_has_the_range_format(text: str):
    for number in find_document_numbers(text, patterns=INVOICES):
        prefix, year, seq = number.split("-")
        assert prefix == "RE"
        assert 1990 <= int(year) <= 2099
        assert len(seq) >= 5
        assert int(seq) > 0


# ------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Hans Müller", "Mueller, Hans", 1.0),
        ("Muster Software GmbH", "MUSTER SOFTWARE", 1.0),
        ("Beispiel e.K.", "Beispiel", 1.0),
        ("Beispiel e. K.", "Beispiel", 1.0),
        ("Müller & Söhne OHG", "Mueller und Soehne", 1.0),
        ("Dr. Erika Mustermann", "Frau Erika Mustermann", 1.0),
        ("Muster Software", "MusterSoftware GmbH & Co. KG", 1.0),
        ("José Núñez", "Jose Nunez", 1.0),
        ("H. Mueller", "Hans Mueller", 0.95),
        ("GmbH", "AG", 0.0),
        ("", "Hans Müller", 0.0),
    ],
)
def test_name_similarity_examples(a: str, b: str, expected: float):
    assert name_similarity(a, b) == expected


def test_name_similarity_ranks_the_right_customer_first():
    payer = "ERIKA MUELLER"
    candidates = ["Erika Müller", "Erich Müller", "Erika Mustermann", "Kunde AG"]
    ranked = sorted(candidates, key=lambda name: name_similarity(payer, name), reverse=True)
    assert ranked == ["Erika Müller", "Erich Müller", "Erika Mustermann", "Kunde AG"]


def test_name_tokens():
    assert name_tokens("Müller & Söhne GmbH & Co. KG") == ("mueller", "soehne")


names = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ .,&-"),
    max_size=40,
)
words = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10).filter(
        # Words the name comparison deliberately drops (legal forms, salutations) would
        # make the similarity 0: the property is about the words that remain.
        lambda w: w not in _NOISE_WORDS
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(a=names, b=names)
def test_name_similarity_is_symmetric_and_between_0_and_1(a: str, b: str):
    score = name_similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == name_similarity(b, a)


@settings(max_examples=200, deadline=None)
@given(parts=words, data=st.data())
def test_name_similarity_ignores_order_case_and_legal_form(parts: list[str], data):
    name = " ".join(parts)
    shuffled = data.draw(st.permutations(parts))
    legal = data.draw(st.sampled_from(["", " GmbH", " AG", " e.K.", " GmbH & Co. KG", " UG"]))
    assert name_similarity(name, name) == 1.0
    assert name_similarity(name, " ".join(shuffled).upper() + legal) == 1.0


@settings(max_examples=200, deadline=None)
@given(parts=words)
def test_umlauts_and_their_spelling_out_are_the_same(parts: list[str]):
    name = " ".join(parts)
    umlauted = name.replace("ae", "ä").replace("oe", "ö").replace("ue", "ü")
    assert name_similarity(umlauted, name) == 1.0
