"""The invoice font: Inter, prepared once per machine so that Typst sets it fast.

``fontpkg-inter`` ships Inter as one variable font with about 2,500 glyphs. Typst reads and
subsets the font for every PDF it writes, and that work grows with the font: static
instances of the four weights the template uses, cut down to the European Latin alphabets,
render an invoice about 15 % faster than the variable font. They are built here with
fontTools (instancer, then subsetter) the first time a process asks for them, named
"Faktura Inter" and kept in a cache folder keyed by the source font and this recipe.

The template lists "Faktura Inter" first and the full "Inter" second: Typst falls back glyph
by glyph, so a name in Greek, Cyrillic or Vietnamese still comes out in Inter. Without
fontTools or without the wheel, the prepared fonts are skipped and Inter (or DejaVu Sans) is
used as is.

Behind Inter come the fallbacks for the other scripts customers' names realistically
contain (``FALLBACKS``): Arabic (Noto Sans Arabic), Hebrew (Heebo), and Chinese, Japanese
and Korean (Noto Sans CJK JP, one weight: a CJK name in bold comes out regular). Typst
embeds only the glyphs a document uses (PDF/A asks every glyph embedded), and reads a font
only when a document needs it. ``covered_codepoints`` is what Inter and the fallbacks draw
together: text outside it is refused where it enters (``core.text``), so that every new
document renders on any machine with the wheels, whatever fonts the system has.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont

logger = logging.getLogger(__name__)

FAMILY = "Faktura Inter"
# Bump when the preparation below changes: the cache folder's name depends on it.
RECIPE = "1"
WEIGHTS = {400: "Regular", 500: "Medium", 600: "SemiBold", 700: "Bold"}
# Basic Latin, Latin-1, Latin Extended-A (Central and Eastern Europe, Turkish), the Romanian
# comma-below letters, general punctuation, the euro sign and a few symbols used in texts.
UNICODES = (
    list(range(0x20, 0x7F))
    + list(range(0xA0, 0x180))
    + list(range(0x218, 0x21C))
    + list(range(0x2010, 0x203B))
    + [0x20AC, 0x2116, 0x2122, 0x2192, 0x2212]
)
# Inter's optical size for running text (its default instance).
TEXT_OPTICAL_SIZE = 14

_CACHE_ROOT = Path(tempfile.gettempdir()) / f"faktura-fonts-{os.getuid()}"


# Fallback fonts behind Inter: (module of the wheel, font file in its folder). Their family
# names follow "Inter" in the template's font list, in this order.
FALLBACKS = (
    ("fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf"),  # Noto Sans Arabic
    ("fontpkg_heebo", "files/Heebo[wght].ttf"),  # Heebo
    ("noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf"),  # Noto Sans CJK JP
)


def font_paths() -> list[str]:
    """Folders for Typst: the prepared "Faktura Inter", the full variable Inter, fallbacks."""
    fallbacks = [str(path.parent) for path in fallback_fonts()]
    source = _variable_inter()
    if source is None:
        return fallbacks
    paths = [str(source.parent), *fallbacks]
    try:
        prepared = prepared_folder(source)
    except Exception:  # a missing or failing fontTools only costs speed, never a document
        logger.warning("could not prepare the invoice font; using Inter as is", exc_info=True)
        return paths
    return [str(prepared), *paths]


def fallback_fonts() -> list[Path]:
    """The font files of the installed fallback wheels."""
    found = []
    for module, name in FALLBACKS:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        font = Path(spec.origin).parent / name
        if font.is_file():
            found.append(font)
    return found


def covered_codepoints(*, cache_root: Path = _CACHE_ROOT) -> frozenset[int] | None:
    """Every code point the full Inter or a fallback draws; None without the Inter wheel.

    Read from the fonts' cmaps (0.2 to 0.7 s, most of it the CJK font) once per machine and
    kept as ranges in the cache folder, keyed by the font files (path, size, mtime); later
    processes read that (a few ms). Call it once per process and keep the result
    (``core.text`` does).
    """
    source = _variable_inter()
    if source is None:
        return None
    paths = [source, *fallback_fonts()]
    key = hashlib.sha256(
        "\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths).encode()
    ).hexdigest()[:16]
    cached = cache_root / f"coverage-{key}.json"
    try:
        ranges = json.loads(cached.read_text())
        return frozenset(code for first, last in ranges for code in range(first, last + 1))
    except (OSError, ValueError, TypeError):
        pass
    covered = _read_coverage(paths)
    try:
        cache_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(_ranges(covered)))
        os.replace(temporary, cached)  # atomic: a parallel process never reads half a file
    except OSError:
        logger.warning("could not cache the font coverage", exc_info=True)
    return covered


def _read_coverage(paths: list[Path]) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for path in paths:
        font = TTFont(path, lazy=True)
        try:
            covered.update(font.getBestCmap())
        finally:
            font.close()
    return frozenset(covered)


def _ranges(codes: frozenset[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return ranges


def _variable_inter() -> Path | None:
    spec = importlib.util.find_spec("fontpkg_inter")
    if spec is None or spec.origin is None:
        return None
    font = Path(spec.origin).parent / "files" / "Inter[opsz,wght].ttf"
    return font if font.is_file() else None


def prepared_folder(source: Path, *, cache_root: Path = _CACHE_ROOT) -> Path:
    """Return the folder with the prepared fonts for ``source``; build it if missing."""
    digest = hashlib.sha256(source.read_bytes() + RECIPE.encode()).hexdigest()[:16]
    folder = cache_root / digest
    if all((folder / _file_name(weight)).is_file() for weight in WEIGHTS):
        return folder
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for weight in WEIGHTS:
        target = folder / _file_name(weight)
        if target.is_file():
            continue
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        _prepare(source, weight).save(temporary)
        os.replace(temporary, target)  # atomic: a parallel worker never reads half a font
    return folder


def _file_name(weight: int) -> str:
    return f"FakturaInter-{WEIGHTS[weight]}.ttf"


def _prepare(source: Path, weight: int) -> TTFont:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    # Subset first: instancing 400 glyphs is much quicker than instancing 2,500.
    font = TTFont(source)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=UNICODES)
    subsetter.subset(font)
    font = instancer.instantiateVariableFont(font, {"wght": weight, "opsz": TEXT_OPTICAL_SIZE})
    _rename(font, WEIGHTS[weight])
    return font


def _rename(font: TTFont, style: str) -> None:
    """Give the instance its own family, so Typst never mistakes it for the full Inter."""
    names = font["name"]
    # Typst groups faces by the typographic family (16) and picks the weight from OS/2.
    for name_id in (1, 2, 3, 4, 6, 16, 17):
        names.removeNames(nameID=name_id)
    ribbi = style if style in ("Regular", "Bold") else "Regular"
    family = FAMILY if style in ("Regular", "Bold") else f"{FAMILY} {style}"
    postscript = f"{FAMILY.replace(' ', '')}-{style}"
    values = {
        1: family,
        2: ribbi,
        3: f"{postscript};{RECIPE}",
        4: f"{FAMILY} {style}",
        6: postscript,
        16: FAMILY,
        17: style,
    }
    for name_id, value in values.items():
        names.setName(value, name_id, 3, 1, 0x409)
