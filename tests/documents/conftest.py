"""Fixtures of the document tests: the sample snapshots and the shared test corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from faktura.documents.samples import sample_snapshots
from faktura.documents.snapshot import DocumentSnapshot

CORPUS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def samples() -> dict[str, DocumentSnapshot]:
    return sample_snapshots()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The curated corpus beside the repository; tests that need it skip without it."""
    if not (CORPUS_DIR / "manifest.json").is_file():
        pytest.skip(f"test corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR
