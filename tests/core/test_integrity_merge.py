"""The pure parts of `faktura check`: the streaming join and reading numbers back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from faktura.core.integrity import _number_parser, merge_by_key, object_key

PATTERNS = ["RE-{year}-{seq:05d}", "GS-{year}-{seq:05d}", "K{seq:05d}", "R{year}/{seq}", "{seq}"]


@given(
    pattern=st.sampled_from(PATTERNS),
    year=st.integers(2000, 2099),
    seq=st.integers(1, 10**7),
)
def test_a_number_reads_back_as_its_sequence(pattern, year, seq):
    assert _number_parser(pattern)(pattern.format(year=year, seq=seq)) == seq


def test_a_number_of_another_pattern_does_not_read():
    parse = _number_parser("RE-{year}-{seq:05d}")
    assert parse("GS-2026-00001") is None
    assert parse("RE-2026-") is None
    assert _number_parser("no sequence")("no sequence") is None


@given(st.lists(st.integers(0, 10**12), unique=True))
def test_object_keys_order_ids_as_numbers(ids):
    assert sorted(ids, key=object_key) == sorted(ids)
    assert sorted((str(i) for i in ids), key=object_key) == [str(i) for i in sorted(ids)]


@given(
    left=st.lists(st.integers(1, 60), max_size=40),
    right=st.lists(st.integers(1, 60), max_size=40),
)
def test_the_join_pairs_every_key_once_with_all_its_items(left, right):
    left_rows = sorted((str(key), n) for n, key in enumerate(left))
    left_rows.sort(key=lambda row: object_key(row[0]))
    right_rows = sorted(right)
    joined = list(
        merge_by_key(
            left_rows,
            right_rows,
            left_key=lambda row: object_key(row[0]),
            right_key=object_key,
        )
    )
    keys = [key for key, _, _ in joined]
    assert keys == sorted(set(keys))
    assert {int(key[1]) for key in keys} == set(left) | set(right)
    for key, lefts, rights in joined:
        assert sorted(lefts) == sorted(row for row in left_rows if object_key(row[0]) == key)
        assert rights == [value for value in right_rows if object_key(value) == key]
