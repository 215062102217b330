"""The invoice font: prepared Inter instances, with the full Inter behind them."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from faktura.documents.einvoice import build_cii
from faktura.documents.pdf import fonts, render, render_pdf
from faktura.documents.samples import sample_snapshots

pytestmark = pytest.mark.skipif(
    fonts._variable_inter() is None, reason="the fontpkg-inter wheel is not installed"
)


def _embedded_fonts(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            # Subset fonts carry a six-letter tag: "ABCDEF+FakturaInter-Regular".
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def test_prepared_fonts_are_static_weights_of_their_own_family(tmp_path: Path) -> None:
    source = fonts._variable_inter()
    assert source is not None
    folder = fonts.prepared_folder(source, cache_root=tmp_path)
    for weight, style in fonts.WEIGHTS.items():
        font = TTFont(folder / f"FakturaInter-{style}.ttf")
        assert "fvar" not in font  # an instance, no longer variable
        assert font["OS/2"].usWeightClass == weight
        assert font["name"].getDebugName(16) == "Faktura Inter"
        cmap = font.getBestCmap()
        assert all(ord(char) in cmap for char in "Zürich Łódź Şişli Ștefan 1.234,56 € – „“")
        assert ord("Ω") not in cmap  # outside the European Latin cut
    # Built once: a second call finds the files and does not write them again.
    written = {path: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert fonts.prepared_folder(source, cache_root=tmp_path) == folder
    assert {path: path.stat().st_mtime_ns for path in folder.iterdir()} == written


def test_invoices_are_set_in_the_prepared_font() -> None:
    sample = sample_snapshots()["standard_rate"]
    pdf = render_pdf(sample, einvoice_xml=build_cii(sample))
    assert _embedded_fonts(pdf) == {
        "FakturaInter-Regular",
        "FakturaInter-SemiBold",
        "FakturaInter-Bold",
    }


def test_characters_outside_the_cut_fall_back_to_the_full_inter() -> None:
    sample = sample_snapshots()["standard_rate"]
    greek = dataclasses.replace(
        sample, buyer=dataclasses.replace(sample.buyer, name="Ωμέγα Εμπορική ΑΕ")
    )
    pdf = render_pdf(greek, einvoice_xml=build_cii(greek))
    assert "Inter-Regular" in _embedded_fonts(pdf)  # the variable Inter, for the Greek only
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Ωμέγα Εμπορική ΑΕ" in text


def test_a_failing_preparation_costs_speed_not_the_document(monkeypatch, caplog) -> None:
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fonts, "prepared_folder", broken)
    paths = fonts.font_paths()
    fallbacks = [str(path.parent) for path in fonts.fallback_fonts()]
    assert paths == [str(fonts._variable_inter().parent), *fallbacks]  # no prepared Inter
    assert "could not prepare the invoice font" in caplog.text
    render.reset_compiler()
    try:
        sample = sample_snapshots()["standard_rate"]
        pdf = render_pdf(sample, einvoice_xml=build_cii(sample))
        assert any(name.startswith("Inter") for name in _embedded_fonts(pdf))
    finally:
        monkeypatch.undo()
        render.reset_compiler()


CUSTOMER_NAMES = {
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Иван Петрович Сидоров",
    "Vietnamese": "Nguyễn Thị Ánh Tuyết",
    "Turkish": "Şükrü Ağaoğlu",
    # One word each: pypdf's text extraction does not reorder right-to-left runs.
    "Arabic": "محمد",
    "Hebrew": "שרה",
    "Chinese": "王小明",
    "Hangul": "홍길동",
}


def _font_files(pdf: bytes) -> dict[str, bool]:
    """Each font of the PDF → whether its glyphs are embedded (PDF/A asks for all)."""
    embedded = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            name = str(font["/BaseFont"]).split("+", 1)[-1]
            if "/DescendantFonts" in font:  # Type0 (CID) fonts keep the descriptor below
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            embedded[name] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return embedded


def test_names_in_the_scripts_customers_have_render_with_every_font_embedded() -> None:
    sample = sample_snapshots()["standard_rate"]
    fonts_used: dict[str, bool] = {}
    for script, name in CUSTOMER_NAMES.items():
        snapshot = dataclasses.replace(sample, buyer=dataclasses.replace(sample.buyer, name=name))
        pdf = render_pdf(snapshot, einvoice_xml=build_cii(snapshot))
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert name in text, script
        fonts_used.update(_font_files(pdf))
    assert all(fonts_used.values()), fonts_used
    # The fallbacks this project ships set them, not whatever fonts the system has.
    assert {"NotoSansArabic-Regular", "Heebo-Regular"} <= set(fonts_used)
    assert any(name.startswith("NotoSansCJKjp-Regular") for name in fonts_used)


def test_the_fallback_fonts_cover_the_scripts_and_nothing_draws_a_control_character() -> None:
    covered = fonts.covered_codepoints()
    assert covered is not None
    for name in CUSTOMER_NAMES.values():
        assert {ord(char) for char in name if not char.isspace()} <= covered, name
    assert not {0x0B, 0x9C, 0x202E} & covered


def test_the_coverage_is_read_from_the_fonts_once_then_from_the_cache(tmp_path: Path) -> None:
    read = fonts.covered_codepoints(cache_root=tmp_path)
    [cached] = tmp_path.glob("coverage-*.json")
    assert fonts.covered_codepoints(cache_root=tmp_path) == read
    cached.write_text("[[65, 66]]")  # proves the second call reads the cache, not the fonts
    assert fonts.covered_codepoints(cache_root=tmp_path) == {65, 66}
