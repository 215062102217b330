"""Read the accessibility structure of a PDF (tagged PDF/A-3a + PDF/UA-1) with pikepdf."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

import pikepdf

PDFUA = "{http://www.aiim.org/pdfua/ns/id/}part"
PDFA_PART = "{http://www.aiim.org/pdfa/ns/id/}part"
PDFA_CONFORMANCE = "{http://www.aiim.org/pdfa/ns/id/}conformance"


@dataclass
class Structure:
    marked: bool
    lang: str
    title: str
    display_title: bool
    xmp: dict[str, str]
    roles: Counter[str] = field(default_factory=Counter)
    top: list[str] = field(default_factory=list)
    figure_alts: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)


def structure(pdf: bytes) -> Structure:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        root = document.Root
        mark_info = root.get("/MarkInfo")
        prefs = root.get("/ViewerPreferences")
        with document.open_metadata() as meta:
            xmp = {key: str(meta.get(key)) for key in (PDFUA, PDFA_PART, PDFA_CONFORMANCE)}
            title = str(meta.get("dc:title", ""))
        result = Structure(
            marked=bool(mark_info is not None and mark_info.get("/Marked")),
            lang=str(root.get("/Lang", "")),
            title=title,
            display_title=bool(prefs is not None and prefs.get("/DisplayDocTitle")),
            xmp=xmp,
        )
        tree = root.get("/StructTreeRoot")
        if tree is None:
            return result
        kids = tree.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                result.top.append(str(kid.S)[1:])
        _walk(tree, result)
        return result


def _walk(node: object, result: Structure) -> None:
    if not isinstance(node, pikepdf.Dictionary):
        return
    role = node.get("/S")
    if role is not None:
        name = str(role)[1:]
        result.roles[name] += 1
        if name == "Figure":
            result.figure_alts.append(str(node.get("/Alt", "")))
        if name.startswith("H"):
            result.headings.append(name)
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        _walk(kid, result)
