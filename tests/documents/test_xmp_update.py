"""The Factur-X XMP packet added as an incremental update to Typst's PDF/A-3b.

``with_facturx_metadata`` appends a new revision of the metadata stream to Typst's bytes
instead of rewriting the file with pikepdf. These tests take a real Typst PDF/A-3b with an
attachment (a small document of their own, independent of the invoice template) and check
that every reader the project relies on reads the result without complaint.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pypdf
import pytest
import typst
from lxml import etree

from faktura.documents.einvoice import build_cii
from faktura.documents.pdf import xmp
from faktura.documents.pdf.xmp import FX_NAMESPACE as FX
from faktura.documents.pdf.xmp import with_facturx_metadata
from faktura.documents.snapshot import DocumentSnapshot

SOURCE = """
#set document(title: "Rechnung RE-2026-00042", author: "Muster Software GmbH")
#set text(lang: "de")
#pdf.attach(
  "/factur-x.xml",
  bytes(sys.inputs.xml),
  relationship: "alternative",
  mime-type: "text/xml",
  description: "Rechnungsdaten (Factur-X)",
)
Rechnung RE-2026-00042
"""


@pytest.fixture(scope="module")
def xml(samples: dict[str, DocumentSnapshot]) -> bytes:
    return build_cii(samples["standard_rate"])


@pytest.fixture(scope="module")
def typst_pdf(tmp_path_factory: pytest.TempPathFactory, xml: bytes) -> bytes:
    """What Typst writes: PDF/A-3b, classic cross-reference table, XML attached."""
    source = tmp_path_factory.mktemp("typst") / "main.typ"
    source.write_text(SOURCE)
    pdf = typst.compile(
        str(source),
        root=str(source.parent),
        sys_inputs={"xml": xml.decode("utf-8")},
        pdf_standards="a-3b",
        timestamp=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
        pdf_tags=False,
    )
    assert isinstance(pdf, bytes)
    return pdf


@pytest.fixture(scope="module")
def updated(typst_pdf: bytes) -> bytes:
    return with_facturx_metadata(typst_pdf, filename="factur-x.xml", conformance_level="EN 16931")


def _open(pdf: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf))


def _append_revision(pdf: bytes, number: int, body: bytes) -> bytes:
    """``pdf`` with a new revision of object ``number`` appended (an incremental update)."""
    trailer = pdf[pdf.rindex(b"trailer") :]
    size = re.search(rb"/Size (\d+)", trailer)
    root = re.search(rb"/Root (\d+ \d+ R)", trailer)
    ids = re.search(rb"/ID ?(\[[^\]]*\])", trailer)
    assert size is not None
    assert root is not None
    assert ids is not None
    prev = int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0])
    offset = len(pdf) + 1
    obj = b"%d 0 obj\n%b\nendobj\n" % (number, body)
    return (
        pdf
        + b"\n"
        + obj
        + b"xref\n0 1\n0000000000 65535 f\r\n%d 1\n%010d 00000 n\r\n" % (number, offset)
        + b"trailer\n<</Size %b/Root %b/ID %b/Prev %d>>\n"
        % (size.group(1), root.group(1), ids.group(1), prev)
        + b"startxref\n%d\n%%%%EOF\n" % (offset + len(obj))
    )


# --------------------------------------------------------------------------- what Typst writes


def test_typst_writes_a_classic_xref_table_and_an_unfiltered_metadata_stream(typst_pdf: bytes):
    # The fast path depends on both; if Typst changes, with_facturx_metadata still works
    # (through pikepdf) but this test says why it became slower.
    startxref = int(typst_pdf[typst_pdf.rindex(b"startxref") + 9 :].split()[0])
    assert typst_pdf[startxref:].startswith(b"xref")
    with _open(typst_pdf) as document:
        assert "/Filter" not in document.Root.Metadata
        assert "/Prev" not in document.trailer


def test_the_fast_path_does_not_need_pikepdf(typst_pdf: bytes, monkeypatch: pytest.MonkeyPatch):
    def rewrite(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("Typst's output must not be rewritten by pikepdf")

    monkeypatch.setattr(xmp, "add_facturx_metadata", rewrite)
    with_facturx_metadata(typst_pdf, filename="factur-x.xml", conformance_level="EN 16931")


# --------------------------------------------------------------------------- the update


def test_typst_bytes_stay_as_they_are_and_the_result_is_reproducible(
    typst_pdf: bytes, updated: bytes
):
    assert updated.startswith(typst_pdf)
    assert updated.endswith(b"%%EOF\n")
    again = with_facturx_metadata(typst_pdf, filename="factur-x.xml", conformance_level="EN 16931")
    assert again == updated


def test_the_new_xref_section_points_at_the_new_stream(typst_pdf: bytes, updated: bytes):
    with _open(typst_pdf) as document:
        number, generation = document.Root.Metadata.objgen
    update = updated[len(typst_pdf) :]
    startxref = int(updated[updated.rindex(b"startxref") + 9 :].split()[0])
    assert updated[startxref:].startswith(b"xref\n0 1\n0000000000 65535 f\r\n")
    entry = re.search(rb"\n%d 1\n(\d{10}) (\d{5}) n\r\n" % number, updated[startxref:])
    assert entry is not None
    offset = int(entry.group(1))
    assert int(entry.group(2)) == generation
    assert offset > len(typst_pdf)
    assert updated[offset:].startswith(b"%d %d obj\n" % (number, generation))
    assert update.count(b" obj\n") == 1  # only the metadata stream is new


def test_the_new_stream_keeps_to_the_pdfa_syntax_rules(typst_pdf: bytes, updated: bytes):
    # ISO 19005-3 § 6.1.7, 6.1.8: "obj", "stream", "endstream", "endobj" on lines of their
    # own, /Length exactly the bytes between the EOL after "stream" and the one before
    # "endstream"; § 6.1.3: nothing after the last %%EOF but one EOL.
    update = updated[len(typst_pdf) :]
    head = re.match(rb"\n?\d+ \d+ obj\n<<[^\n]*/Length (\d+)>>\nstream\n", update)
    assert head is not None
    end = head.end() + int(head.group(1))
    assert update[end:].startswith(b"\nendstream\nendobj\nxref\n")
    assert update[head.end() : end].startswith(b"<?xpacket begin=")
    assert update[head.end() : end].endswith(b'<?xpacket end="r"?>')
    assert updated.endswith(b"\n%%EOF\n")


def test_pikepdf_opens_it_without_warnings_or_repairs(updated: bytes):
    with _open(updated) as document:
        assert document.get_warnings() == []
        assert document.check_pdf_syntax() == []
        assert document.pdf_version == "1.7"


def test_the_trailer_keeps_id_info_and_root(typst_pdf: bytes, updated: bytes):
    with _open(typst_pdf) as before, _open(updated) as after:
        assert bytes(after.trailer.ID[0]) == bytes(before.trailer.ID[0])
        assert bytes(after.trailer.ID[1]) == bytes(before.trailer.ID[1])
        assert after.trailer.Info.objgen == before.trailer.Info.objgen
        assert after.Root.objgen == before.Root.objgen
        assert after.trailer.Size == before.trailer.Size
        assert str(after.docinfo.Title) == "Rechnung RE-2026-00042"


def test_metadata_has_the_factur_x_properties_and_stays_pdfa_3b(updated: bytes):
    with _open(updated) as document:
        stream = document.Root.Metadata
        # PDF/A: the metadata stream stays unfiltered, typed and readable by any reader.
        assert "/Filter" not in stream
        assert stream.Type == pikepdf.Name.Metadata
        assert stream.Subtype == pikepdf.Name.XML
        with document.open_metadata() as meta:
            assert meta.pdfa_status == "3B"
            assert meta[f"{{{FX}}}DocumentType"] == "INVOICE"
            assert meta[f"{{{FX}}}DocumentFileName"] == "factur-x.xml"
            assert meta[f"{{{FX}}}Version"] == "1.0"
            assert meta[f"{{{FX}}}ConformanceLevel"] == "EN 16931"
        packet = stream.read_bytes()
    tree = etree.fromstring(
        packet[packet.index(b"<x:xmpmeta") : packet.rindex(b"</x:xmpmeta>") + 12]
    )
    bags = tree.findall(".//{http://www.aiim.org/pdfa/ns/extension/}schemas")
    assert len(bags) == 1
    assert FX in [e.text for e in bags[0].iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")]


def test_the_packet_is_the_one_the_pikepdf_rewrite_writes(typst_pdf: bytes, updated: bytes):
    with _open(typst_pdf) as document:
        xmp.set_facturx_metadata(document, filename="factur-x.xml", conformance_level="EN 16931")
        expected = document.Root.Metadata.read_bytes()
    with _open(updated) as document:
        assert document.Root.Metadata.read_bytes() == expected


def test_xrechnung_name_and_level(typst_pdf: bytes):
    pdf = with_facturx_metadata(typst_pdf, filename="xrechnung.xml", conformance_level="XRECHNUNG")
    with _open(pdf) as document, document.open_metadata() as meta:
        assert meta[f"{{{FX}}}DocumentFileName"] == "xrechnung.xml"
        assert meta[f"{{{FX}}}ConformanceLevel"] == "XRECHNUNG"


def test_the_attachment_is_unchanged(updated: bytes, xml: bytes):
    with _open(updated) as document:
        spec = document.Root.AF[0]
        assert str(spec.F) == "factur-x.xml"
        assert spec.AFRelationship == pikepdf.Name.Alternative
        assert spec.EF.F.read_bytes() == xml
        assert document.attachments["factur-x.xml"].get_file().read_bytes() == xml


def test_pypdf_reads_it_strictly_without_warnings(
    updated: bytes, xml: bytes, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="pypdf"):
        reader = pypdf.PdfReader(io.BytesIO(updated), strict=True)
        assert len(reader.pages) == 1
        assert reader.attachments == {"factur-x.xml": [xml]}
        metadata = reader.xmp_metadata
        assert metadata is not None
        stream = reader.root_object["/Metadata"].get_object()
        assert isinstance(stream, pypdf.generic.StreamObject)
        assert FX.encode() in stream.get_data()
    assert caplog.records == []


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils not installed")
def test_poppler_reads_it(updated: bytes, tmp_path: Path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(updated)
    info = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, timeout=30)
    assert info.returncode == 0
    assert info.stderr == b""
    assert b"<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in info.stdout
    files = subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, timeout=30)
    assert files.returncode == 0
    assert files.stderr == b""
    assert b"1: factur-x.xml" in files.stdout


# --------------------------------------------------------------------------- other inputs


def test_objects_are_found_through_earlier_revisions(typst_pdf: bytes, xml: bytes):
    # The catalog in a newer revision, the metadata stream only in the first one.
    with _open(typst_pdf) as document:
        number = document.Root.objgen[0]
    start = typst_pdf.index(b"\n%d 0 obj\n" % number) + len(b"\n%d 0 obj\n" % number)
    catalog = typst_pdf[start : typst_pdf.index(b"\nendobj", start)]
    revised = _append_revision(typst_pdf, number, catalog)
    with _open(revised) as document:
        assert document.get_warnings() == []

    pdf = with_facturx_metadata(revised, filename="factur-x.xml", conformance_level="EN 16931")

    assert pdf.startswith(revised)
    with _open(pdf) as document:
        assert document.get_warnings() == []
        assert document.check_pdf_syntax() == []
        assert document.Root.AF[0].EF.F.read_bytes() == xml
        with document.open_metadata() as meta:
            assert meta[f"{{{FX}}}DocumentFileName"] == "factur-x.xml"


def test_a_second_update_is_refused(updated: bytes):
    with pytest.raises(ValueError, match="already carries Factur-X"):
        with_facturx_metadata(updated, filename="factur-x.xml", conformance_level="EN 16931")


def test_a_pdf_without_metadata_is_refused(typst_pdf: bytes):
    with _open(typst_pdf) as document:
        del document.Root.Metadata
        out = io.BytesIO()
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    with pytest.raises(ValueError, match="no XMP metadata stream"):
        with_facturx_metadata(out.getvalue(), filename="factur-x.xml", conformance_level="EN 16931")


def _with_xref_stream(pdf: bytes) -> bytes:
    with _open(pdf) as document:
        out = io.BytesIO()
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    result = out.getvalue()
    startxref = int(result[result.rindex(b"startxref") + 9 :].split()[0])
    assert not result[startxref:].startswith(b"xref")  # an xref stream, no table
    return result


def test_a_pdf_with_an_xref_stream_is_rewritten_by_pikepdf(typst_pdf: bytes, xml: bytes):
    source = _with_xref_stream(typst_pdf)

    pdf = with_facturx_metadata(source, filename="factur-x.xml", conformance_level="EN 16931")

    assert pdf == with_facturx_metadata(
        source, filename="factur-x.xml", conformance_level="EN 16931"
    )
    with _open(pdf) as document:
        assert document.get_warnings() == []
        assert "/Filter" not in document.Root.Metadata
        assert document.Root.AF[0].EF.F.read_bytes() == xml
        with document.open_metadata() as meta:
            assert meta.pdfa_status == "3B"
            assert meta[f"{{{FX}}}ConformanceLevel"] == "EN 16931"


def test_a_pdf_with_an_xref_stream_and_without_metadata_is_refused(typst_pdf: bytes):
    with _open(typst_pdf) as document:
        del document.Root.Metadata
        out = io.BytesIO()
        document.save(out)
    source = _with_xref_stream(out.getvalue())
    with pytest.raises(ValueError, match="no XMP metadata stream"):
        with_facturx_metadata(source, filename="factur-x.xml", conformance_level="EN 16931")
