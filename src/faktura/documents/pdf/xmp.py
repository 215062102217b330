"""Add the Factur-X / ZUGFeRD XMP metadata to a PDF/A-3 that already carries the XML.

Typst writes a valid PDF/A-3b with the attachment and its own XMP packet, but not the
Factur-X properties that receivers use to find the XML (Factur-X 1.0 § 6.2.2 / ZUGFeRD 2.x
Technical Appendix "XMP"). PDF/A (ISO 19005-3 § 6.6.2.3) allows custom properties only when
their schema is described in the ``pdfaExtension:schemas`` bag, so both go in.

The edit is textual on purpose: Typst's packet is small and regular, and re-serialising it
through an RDF library would cost more than the rest of this step. pikepdf then swaps the
metadata stream and writes the file again.
"""

from __future__ import annotations

import io
from typing import Literal

import pikepdf

FX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ConformanceLevel = Literal["MINIMUM", "BASIC WL", "BASIC", "EN 16931", "EXTENDED", "XRECHNUNG"]

# The four properties of the Factur-X extension schema (Factur-X 1.0 § 6.2.2).
_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)

_SCHEMA_ITEM = (
    '<rdf:li rdf:parseType="Resource">'
    "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
    f"<pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>"
    "<pdfaSchema:prefix>fx</pdfaSchema:prefix>"
    "<pdfaSchema:property><rdf:Seq>"
    + "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description>"
        "</rdf:li>"
        for name, description in _PROPERTIES
    )
    + "</rdf:Seq></pdfaSchema:property></rdf:li>"
)

_EXTENSION_NAMESPACES = (
    'xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
    'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
    'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"'
)
_BAG_OPEN = b"<pdfaExtension:schemas><rdf:Bag>"
_RDF_CLOSE = b"</rdf:RDF>"


def facturx_packet(
    xmp: bytes,
    *,
    filename: str = "factur-x.xml",
    conformance_level: ConformanceLevel = "EN 16931",
    document_type: str = "INVOICE",
    version: str = "1.0",
) -> bytes:
    """Return the XMP packet ``xmp`` with the Factur-X properties and their schema added.

    Keeps everything else (pdfaid:part 3, conformance B, Typst's own schemas) as it is.
    Raises ValueError when ``xmp`` is not an RDF packet or already has Factur-X data.
    """
    if FX_NAMESPACE.encode() in xmp:
        raise ValueError("The XMP packet already carries Factur-X metadata")
    if _RDF_CLOSE not in xmp:
        raise ValueError("The XMP packet has no rdf:RDF element")
    fx = (
        f'<rdf:Description rdf:about="" xmlns:fx="{FX_NAMESPACE}">'
        f"<fx:DocumentType>{document_type}</fx:DocumentType>"
        f"<fx:DocumentFileName>{filename}</fx:DocumentFileName>"
        f"<fx:Version>{version}</fx:Version>"
        f"<fx:ConformanceLevel>{conformance_level}</fx:ConformanceLevel>"
        "</rdf:Description>"
    ).encode()
    if _BAG_OPEN in xmp:
        # One pdfaExtension:schemas property per packet: join Typst's bag rather than
        # adding a second one, which XMP readers (and veraPDF) treat as a conflict.
        xmp = xmp.replace(_BAG_OPEN, _BAG_OPEN + _SCHEMA_ITEM.encode(), 1)
    else:
        fx += (
            f'<rdf:Description rdf:about="" {_EXTENSION_NAMESPACES}>'
            f"<pdfaExtension:schemas><rdf:Bag>{_SCHEMA_ITEM}</rdf:Bag></pdfaExtension:schemas>"
            "</rdf:Description>"
        ).encode()
    head, _, tail = xmp.rpartition(_RDF_CLOSE)
    return head + fx + _RDF_CLOSE + tail


def set_facturx_metadata(
    document: pikepdf.Pdf,
    *,
    filename: str = "factur-x.xml",
    conformance_level: ConformanceLevel = "EN 16931",
) -> None:
    """Add the Factur-X XMP properties to the metadata stream of an open PDF/A-3.

    Raises ValueError when the document has no XMP packet.
    """
    stream = document.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        raise ValueError("The PDF has no XMP metadata stream")
    packet = facturx_packet(
        stream.read_bytes(), filename=filename, conformance_level=conformance_level
    )
    # PDF/A: the metadata stream must stay unfiltered so any reader can find it.
    stream.write(packet)


def save(document: pikepdf.Pdf) -> bytes:
    """Write ``document`` to bytes, reproducibly and without re-packing Typst's output."""
    out = io.BytesIO()
    document.save(
        out,
        # Same content gives the same bytes, so archive hashes are reproducible.
        deterministic_id=True,
        # pdf:PDFVersion in the XMP already matches; leave Typst's packet alone.
        fix_metadata_version=False,
        # Keep Typst's object streams and compression: re-packing costs time.
        object_stream_mode=pikepdf.ObjectStreamMode.preserve,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
    )
    return out.getvalue()


def add_facturx_metadata(
    pdf: bytes,
    *,
    filename: str = "factur-x.xml",
    conformance_level: ConformanceLevel = "EN 16931",
) -> bytes:
    """Return ``pdf`` with the Factur-X XMP properties added to its metadata stream.

    ``pdf`` must be a PDF/A-3 that already embeds ``filename`` (Typst does that).
    Raises ValueError when it has no XMP packet.
    """
    with pikepdf.open(io.BytesIO(pdf)) as document:
        set_facturx_metadata(document, filename=filename, conformance_level=conformance_level)
        return save(document)
