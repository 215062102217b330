"""The company's letterhead as the PDF renderer receives it (stored in master data later).

Two ways to brand a document:

* an uploaded background (a one-page PDF, PNG, JPEG or SVG in A4) for the first page and,
  optionally, for the following pages: the renderer then draws no header of its own and,
  with ``footer=False``, no legal footer either (the background already carries it).
  Images are placed by Typst; a PDF background is laid beneath the pages with pikepdf
  (Typst 0.15 refuses PDF images in PDF/A export) and must itself embed its fonts and use
  RGB or grey, or the invoice stops being PDF/A;
* a logo plus the accent colour: the renderer draws the header with the logo, and the
  footer with the legal data from the seller snapshot (§ 35a GmbHG, § 37a HGB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faktura.core.errors import InvalidInput

ImageMime = str  # "image/png", "image/jpeg", "image/svg+xml" or "application/pdf"

# What Typst's image() can embed; PDF backgrounds are placed as vector pages.
_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/svg+xml": "svg",
    "application/pdf": "pdf",
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_ACCENT = "#1f4e79"


@dataclass(frozen=True)
class Asset:
    """One uploaded file: its bytes and MIME type."""

    data: bytes
    mime: ImageMime

    def __post_init__(self) -> None:
        if self.mime not in _FORMATS:
            raise InvalidInput(
                f"Unsupported letterhead file type {self.mime!r}; use PNG, JPEG, SVG or PDF",
                code="invalid_letterhead",
            )
        if not self.data:
            raise InvalidInput("The letterhead file is empty", code="invalid_letterhead")

    @property
    def extension(self) -> str:
        return _FORMATS[self.mime]


@dataclass(frozen=True)
class Letterhead:
    """Branding for PDF documents; every field is optional."""

    logo: Asset | None = None
    first_page_background: Asset | None = None
    following_pages_background: Asset | None = None
    accent_colour: str = DEFAULT_ACCENT  # "#rrggbb"
    footer: bool = True  # False when the backgrounds already print the legal data

    def __post_init__(self) -> None:
        if not _HEX_COLOUR.match(self.accent_colour):
            raise InvalidInput(
                f"Accent colour must look like #1f4e79, not {self.accent_colour!r}",
                code="invalid_letterhead",
            )


DEFAULT_LETTERHEAD = Letterhead()
