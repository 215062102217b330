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
