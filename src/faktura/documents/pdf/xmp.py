"""Add the Factur-X / ZUGFeRD XMP metadata to a PDF/A-3 that already carries the XML.

Typst writes a valid PDF/A-3b with the attachment and its own XMP packet, but not the
Factur-X properties that receivers use to find the XML (Factur-X 1.0 § 6.2.2 / ZUGFeRD 2.x
Technical Appendix "XMP"). PDF/A (ISO 19005-3 § 6.6.2.3) allows custom properties only when
their schema is described in the ``pdfaExtension:schemas`` bag, so both go in.

The edit is textual on purpose: Typst's packet is small and regular, and re-serialising it
through an RDF library would cost more than the rest of this step.

``with_facturx_metadata`` puts the new packet in as an incremental update (ISO 32000-1
§ 7.5.6, allowed by PDF/A-3, ISO 19005-3 § 6.1.3): Typst's bytes stay as they are, and a new
revision of the metadata stream, a cross-reference section for it and a trailer follow them.
That costs about 0.06 ms of CPU per invoice instead of the 1.1 ms pikepdf needs to open and
write the whole file; the price is the old packet left in the file (about 4 KB).
``set_facturx_metadata`` and ``save`` remain for documents that pikepdf rewrites anyway (PDF
letterheads laid beneath the pages); ``add_facturx_metadata`` is the fallback for files the
update does not handle.
"""

from __future__ import annotations

import io
import re
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

    Keeps everything else (pdfaid part and conformance, pdfuaid, Typst's own schemas) as it is.
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


# --------------------------------------------------------------------------- incremental update


def with_facturx_metadata(
    pdf: bytes, *, filename: str, conformance_level: ConformanceLevel
) -> bytes:
    """Return ``pdf`` with the Factur-X properties added to its XMP packet (``facturx_packet``).

    ``pdf`` is a PDF/A-3 that already embeds ``filename`` (Typst writes it so). For a file
    with a classic cross-reference table, which is what Typst writes, the new packet is
    appended as an incremental update: ``pdf`` unchanged, then a new revision of the metadata
    stream under its own object number (same dictionary, unfiltered), a cross-reference
    section with that one entry, and a trailer with every entry of the last one (/Root,
    /Info, /ID …), /Size and /Prev. Any other file (a cross-reference stream, encryption,
    a filtered metadata stream) is rewritten with pikepdf instead, as
    ``add_facturx_metadata`` does. The same input always gives the same bytes.

    Raises ValueError when the catalog has no /Metadata stream or its packet cannot take the
    properties (see ``facturx_packet``).
    """
    try:
        update = _metadata_update(pdf, filename=filename, conformance_level=conformance_level)
    except _Unsupported:
        return add_facturx_metadata(pdf, filename=filename, conformance_level=conformance_level)
    return pdf + update


class _Unsupported(Exception):
    """A file the incremental update does not handle; pikepdf rewrites it instead."""


_WS = rb"[\x00\t\n\x0c\r ]"
_SKIP = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
# One token of PDF syntax after white space and comments (ISO 32000-1 § 7.2, 7.3).
_TOKEN = re.compile(
    rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*"
    rb"(<<|>>|\[|\]"  # dictionary and array brackets
    rb"|/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*"  # name
    rb"|\((?:[^()\\]|\\.)*\)"  # string (without unescaped parentheses inside)
    rb"|<[^<>]*>"  # hexadecimal string
    rb"|[^\x00\t\n\x0c\r ()<>\[\]{}/%]+)",  # number, keyword
    re.DOTALL,
)
_OPEN = {b"<<": b">>", b"[": b"]"}
_CLOSE = frozenset(_OPEN.values())
_INTEGER = re.compile(rb"[0-9]+\Z")
_STARTXREF = re.compile(rb"startxref" + _WS + rb"+([0-9]+)" + _WS + rb"+%%EOF")
_SUBSECTION = re.compile(_WS + rb"*([0-9]+) ([0-9]+)[\x00\t\x0c ]*(?:\r\n|\r|\n)")
_ENTRY = re.compile(rb"([0-9]{10}) ([0-9]{5}) ([nf])(?: \r| \n|\r\n)")
_OBJ = re.compile(_WS + rb"*([0-9]+)" + _WS + rb"+([0-9]+)" + _WS + rb"+obj")
_STREAM = re.compile(_WS + rb"*stream(?:\r\n|\n)")
_MAX_REVISIONS = 100

_Xref = list[tuple[int, int, int]]  # subsections: first object, count, offset of first entry


def _metadata_update(pdf: bytes, *, filename: str, conformance_level: ConformanceLevel) -> bytes:
    """The bytes to append to ``pdf``: metadata stream, cross-reference section, trailer."""
    found = _STARTXREF.findall(pdf, max(0, len(pdf) - 1024))
    if not found:
        raise _Unsupported("no startxref at the end of the file")
    xref = int(found[-1])
    trailer, table = _read_xref(pdf, xref)
    if b"/Encrypt" in trailer or b"/XRefStm" in trailer:
        raise _Unsupported("an encrypted or hybrid file")
    root = trailer.get(b"/Root")
    if root is None:
        raise ValueError("The PDF has no catalog")
    catalog, _ = _parse_dict(pdf, _find(pdf, trailer, table, root))
    reference = catalog.get(b"/Metadata")
    if reference is None:
        raise ValueError("The PDF has no XMP metadata stream")
    number, generation = _ref(reference)
    stream, end = _parse_dict(pdf, _find(pdf, trailer, table, reference))
    data = _STREAM.match(pdf, end)
    if data is None:
        raise ValueError("The PDF's /Metadata is not a stream")
    if stream.get(b"/Type") != b"/Metadata" or b"/Filter" in stream:
        raise _Unsupported("a metadata stream that is filtered or not typed /Metadata")
    length = stream.get(b"/Length", b"")
    if length.endswith(b"R"):
        value = _REGULAR.match(pdf, _skip(pdf, _find(pdf, trailer, table, length)))
        length = value.group() if value else b""
    if not _INTEGER.match(length) or not pdf.startswith(
        b"endstream", _skip(pdf, data.end() + int(length))
    ):
        raise _Unsupported("a metadata stream whose /Length is wrong")
    packet = facturx_packet(
        pdf[data.end() : data.end() + int(length)],
        filename=filename,
        conformance_level=conformance_level,
    )

    head = b"" if pdf.endswith((b"\n", b"\r")) else b"\n"
    offset = len(pdf) + len(head)
    # PDF/A (ISO 19005-3 § 6.1.7, 6.1.8): obj, endobj, stream and endstream on lines of their
    # own, /Length exactly the bytes between the EOL after "stream" and the one before
    # "endstream"; the metadata stays unfiltered and keeps /Type /Metadata /Subtype /XML.
    kept = b"".join(key + b" " + value for key, value in stream.items() if key != b"/Length")
    obj = b"%d %d obj\n<<%b/Length %d>>\nstream\n%b\nendstream\nendobj\n" % (
        number,
        generation,
        kept,
        len(packet),
        packet,
    )
    # ISO 32000-1 § 7.5.6: the new trailer repeats the previous one's entries (but /Prev).
    # The section starts with the head of the free list, as Acrobat's updates do: some
    # readers (pypdf) take a section that does not start at object 0 for a broken one.
    kept = b"".join(
        key + b" " + value for key, value in trailer.items() if key not in (b"/Size", b"/Prev")
    )
    size = max(int(_integer(trailer.get(b"/Size", b""))), number + 1)
    return (
        head
        + obj
        + (
            b"xref\n0 1\n0000000000 65535 f\r\n%d 1\n%010d %05d n\r\n"
            b"trailer\n<</Size %d%b/Prev %d>>\nstartxref\n%d\n%%%%EOF\n"
            % (number, offset, generation, size, kept, xref, offset + len(obj))
        )
    )


def _read_xref(pdf: bytes, offset: int) -> tuple[dict[bytes, bytes], _Xref]:
    """The trailer of the cross-reference table at ``offset``, and the table's subsections."""
    if not pdf.startswith(b"xref", offset):
        raise _Unsupported("a cross-reference stream")
    position = offset + 4
    table: _Xref = []
    while header := _SUBSECTION.match(pdf, position):
        first, count = int(header.group(1)), int(header.group(2))
        table.append((first, count, header.end()))
        position = header.end() + 20 * count  # entries are 20 bytes each (§ 7.5.4)
    position = _skip(pdf, position)
    if not pdf.startswith(b"trailer", position):
        raise _Unsupported("no trailer after the cross-reference table")
    trailer, _ = _parse_dict(pdf, position + 7)
    return trailer, table


def _find(pdf: bytes, trailer: dict[bytes, bytes], table: _Xref, reference: bytes) -> int:
    """Where the object ``reference`` ("12 0 R") starts, just after "12 0 obj"."""
    number, generation = _ref(reference)
    for _ in range(_MAX_REVISIONS):
        for first, count, start in table:
            if not first <= number < first + count:
                continue
            entry = _ENTRY.match(pdf, start + 20 * (number - first))
            if entry is None:
                raise _Unsupported("a malformed cross-reference entry")
            if entry.group(3) == b"f" or int(entry.group(2)) != generation:
                break  # deleted
            obj = _OBJ.match(pdf, int(entry.group(1)))
            if obj is None or (int(obj.group(1)), int(obj.group(2))) != (number, generation):
                raise _Unsupported("a cross-reference entry that misses its object")
            return obj.end()
        else:
            if b"/Prev" in trailer:
                trailer, table = _read_xref(pdf, int(_integer(trailer[b"/Prev"])))
                continue
        break
    raise ValueError(f"The PDF has no object {number} {generation}")


def _ref(value: bytes) -> tuple[int, int]:
    parts = value.split()
    if len(parts) != 3 or parts[2] != b"R":
        raise ValueError(f"{value!r} is not an indirect reference")
    return int(_integer(parts[0])), int(_integer(parts[1]))


def _integer(value: bytes) -> bytes:
    if not _INTEGER.match(value):
        raise _Unsupported(f"{value!r} is not a whole number")
    return value


def _skip(pdf: bytes, position: int) -> int:
    """Past white space and comments."""
    match = _SKIP.match(pdf, position)
    return match.end() if match else position


def _parse_dict(pdf: bytes, position: int) -> tuple[dict[bytes, bytes], int]:
    """The dictionary at ``position`` as {key: value as written}, and where it ends.

    Indirect references come as one value ("12 0 R"); nested dictionaries and arrays as
    they are written. A string with unescaped parentheses inside is not read (_Unsupported).
    """
    tokens: list[bytes] = []
    open_brackets: list[bytes] = []
    nested = 0
    while token := _TOKEN.match(pdf, position):
        text = token.group(1)
        position = token.end()
        if text in _OPEN:
            if len(open_brackets) == 1:
                nested = token.start(1)
            open_brackets.append(_OPEN[text])
        elif text in _CLOSE:
            if not open_brackets or open_brackets.pop() != text:
                break
            if not open_brackets:
                return _entries(tokens), position
            if len(open_brackets) == 1:
                tokens.append(pdf[nested:position])
        elif not open_brackets:
            break  # not a dictionary
        elif len(open_brackets) == 1:
            tokens.append(text)
    raise _Unsupported("a dictionary this reader does not understand")


def _entries(tokens: list[bytes]) -> dict[bytes, bytes]:
    entries: dict[bytes, bytes] = {}
    i = 0
    while i < len(tokens):
        key = tokens[i]
        if not key.startswith(b"/") or i + 1 == len(tokens):
            raise _Unsupported("a malformed dictionary")
        if (
            i + 3 < len(tokens)
            and tokens[i + 3] == b"R"
            and _INTEGER.match(tokens[i + 1])
            and _INTEGER.match(tokens[i + 2])
        ):
            entries[key] = b" ".join(tokens[i + 1 : i + 4])
            i += 4
        else:
            entries[key] = tokens[i + 1]
            i += 2
    return entries
