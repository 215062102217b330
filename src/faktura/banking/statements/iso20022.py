"""Hardened lxml for ISO 20022 bank files: parser options, document head, syntax errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from faktura.banking.statements.errors import (
    EMPTY_FILE,
    MALFORMED_XML,
    NOT_A_STATEMENT,
    TRUNCATED_XML,
    WRONG_NAMESPACE,
    StatementParseError,
)

ISO20022_NAMESPACE = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})\.(\d{3}\.\d{2})$"
)

# Options for every lxml parser that reads bank files: nothing is fetched, no entity is
# expanded (billion laughs, XXE), no DTD is loaded, and lxml's default size and depth
# limits stay on (huge_tree=False).
HARDENED_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
}

_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# libxml2 error 77: "Premature end of data in tag …".
_PREMATURE_END = 77


@dataclass(frozen=True, slots=True)
class DocumentHead:
    """The namespace, root and message element of an ISO 20022 XML document."""

    namespace: str
    message: str  # e.g. "camt.053", "pain.002"
    version: str  # e.g. "001.08"
    first_child: str  # local name of the message element, e.g. "BkToCstmrStmt"


def syntax_error(error: etree.XMLSyntaxError, data: bytes) -> StatementParseError:
    """Turn an lxml syntax error into truncated_xml (the data ends early) or malformed_xml."""
    line, column = error.position if error.position else (0, 0)
    lines = data.rstrip(b"\r\n\t ").split(b"\n")
    at_end = line >= len(lines) and column >= len(lines[-1]) - 2
    if error.code == _PREMATURE_END or at_end:
        return StatementParseError(
            "The XML file ends before the document is complete; it was probably cut off "
            "during transfer",
            code=TRUNCATED_XML,
            location=f"line {line}",
        )
    return StatementParseError(
        f"The XML file is not well-formed: {error.msg}",
        code=MALFORMED_XML,
        location=f"line {line}",
    )


def read_document_head(data: bytes) -> DocumentHead:
    """Read the root namespace and the message element without parsing the whole file.

    Raises StatementParseError: empty_file, truncated_xml, malformed_xml,
    not_a_statement (no message element), wrong_namespace (not an ISO 20022 Document).
    """
    if not data.strip():
        raise StatementParseError("The file is empty", code=EMPTY_FILE)
    if _DOCTYPE.search(data[:4096]):
        raise StatementParseError(
            "Bank files must not contain a document type declaration (DOCTYPE/ENTITY)",
            code=MALFORMED_XML,
            location="line 1",
        )
    parser = etree.XMLPullParser(events=("start",), **HARDENED_PARSER_OPTIONS)
    names: list[tuple[str, str]] = []
    try:
        for offset in range(0, len(data), 65536):
            parser.feed(data[offset : offset + 65536])
            for _event, element in parser.read_events():
                tag = element.tag
                if not isinstance(tag, str):
                    continue
                if tag.startswith("{"):
                    namespace, _, local = tag[1:].partition("}")
                    names.append((namespace, local))
                else:
                    names.append(("", tag))
            if len(names) >= 2:
                break
        else:
            parser.close()
    except etree.XMLSyntaxError as error:
        raise syntax_error(error, data) from None
    if len(names) < 2:
        raise StatementParseError(
            "The XML document has no message element", code=NOT_A_STATEMENT, location="line 1"
        )
    namespace, root = names[0]
    match = ISO20022_NAMESPACE.match(namespace)
    if root != "Document" or match is None:
        raise StatementParseError(
            f"Not an ISO 20022 document: root element {root!r} in namespace "
            f"{namespace or '(none)'!r}",
            code=WRONG_NAMESPACE,
            location="line 1",
        )
    return DocumentHead(
        namespace=namespace,
        message=match.group(1),
        version=match.group(2),
        first_child=names[1][1],
    )
