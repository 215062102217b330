"""Shared fixtures of the bank-format tests: own fixture files and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The shared test corpus lives beside the repository: /work/shared/corpus for /work/main.
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def fixture_bytes(name: str) -> bytes:
    """Return the bytes of one of this package's own fixture files."""
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus directory; the test is skipped where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS.resolve()
