"""`glyph_bank` → `GLYPH/indexed_v1` (SPEC §4.1): PNG tiles packed into one 256x256 4bpp sheet.

Payload: 32768 bytes of pixels (row-major, two pixels per byte, the even-x pixel in the high
nibble) followed by 64 palettes x 16 colours of RGB565 `u16` LE (2048 bytes).

Decisions where the SPEC is silent:

* Colours are compared after RGB565 conversion everywhere (matching, derived palettes and
  indexed-palette conflicts), because RGB565 is all the runtime ever sees.
* A derived palette starts with black at entry 0, so opaque black pixels map to entry 0 and
  do not take a slot (the first-matching-entry rule would map them there anyway).
* Partly transparent pixels (alpha 1..254) are treated as opaque; only alpha 0 means index 0.
* `"palettes": []` counts as "no palette declared", so palette 0 is derived.
* With declared palettes but no palette 0, palette 0 is empty: indexed PNGs still pack,
  any opaque pixel of another PNG is reported as `glyph.color_not_in_palette`.

Diagnostic codes (all blocking):

* `glyph.tile_size_invalid` — `output.metadata.tile_size` missing, not an int, or not 8/16/32.
* `glyph.input_not_png` — an artifact file does not end in `.png`.
* `glyph.palette_malformed` — `output.pipeline.palettes` (or an entry) has the wrong shape.
* `glyph.palette_count_exceeded` — more than 64 palettes declared.
* `glyph.palette_index_out_of_range` — a palette index outside 0..63.
* `glyph.palette_index_duplicate` — two palettes declare the same index.
* `glyph.palette_too_many_colors` — a palette lists more than 16 colours.
* `glyph.palette_color_invalid` — a colour is not a `"#rrggbb"` string.
* `input.missing` — an artifact's bytes are not in the frozen input snapshot.
* `glyph.png_unreadable` — the bytes are not a decodable PNG.
* `glyph.tile_dimensions` — a PNG is not exactly tile_size x tile_size.
* `glyph.index_out_of_range` — an indexed PNG uses a colour index ≥ 16.
* `glyph.color_not_in_palette` — an opaque pixel's colour is not in palette 0.
* `glyph.derived_palette_overflow` — more than 15 distinct opaque colours and no palette.
* `glyph.indexed_palette_conflict` — indexed PNGs disagree on a used entry and no palette.

Plus the shared `artifact.*` / `output.*` codes of `base.Family`.
"""

from __future__ import annotations

import io
import re
import struct
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..models.declaration import AssetDeclaration, OutputDecl
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import glyph_palette_malformed, glyph_png_unreadable, input_missing
from .base import (
    ExtractedFile,
    Family,
    Materialized,
    MaterializeOutcome,
    ScaffoldRequest,
)

SHEET_SIZE = 256
PALETTE_COUNT = 64
PALETTE_COLORS = 16
PIXEL_BYTES = SHEET_SIZE * SHEET_SIZE // 2  # 32768
PALETTE_BYTES = PALETTE_COUNT * PALETTE_COLORS * 2  # 2048
PAYLOAD_SIZE = PIXEL_BYTES + PALETTE_BYTES  # 34816
DECODED_SIZE = SHEET_SIZE * SHEET_SIZE + PALETTE_BYTES  # 67584
CAPACITY = {8: 1024, 16: 256, 32: 64}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))
_VALID_INDICES = bytes(range(PALETTE_COLORS))
_WORD = next(code for code in "IL" if array(code).itemsize == 4)  # a 32-bit unsigned array


def expected_sizes() -> tuple[int, int]:
    """(payload size, decoded size) of every `GLYPH/indexed_v1` bank: the format is fixed-size
    (a 256x256 4-bit sheet plus 64 RGB565 palettes), whatever the tile count."""
    return PAYLOAD_SIZE, DECODED_SIZE


def rgb565(r: int, g: int, b: int) -> int:
    """The runtime's colour word: `(r >> 3) << 11 | (g >> 2) << 5 | (b >> 3)`."""
    return (r >> 3) << 11 | (g >> 2) << 5 | (b >> 3)


def rgb565_to_rgb(value: int) -> tuple[int, int, int]:
    """Expand back to 8 bits per channel (bit replication), so white stays #ffffff."""
    r5, g6, b5 = (value >> 11) & 0x1F, (value >> 5) & 0x3F, value & 0x1F
    return (r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)


def parse_color(text: object) -> tuple[int, int, int] | None:
    """`"#rrggbb"` → (r, g, b); anything else → None."""
    if not isinstance(text, str) or not _COLOR_RE.fullmatch(text):
        return None
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def tile_size_of(decl: AssetDeclaration) -> int | None:
    """The declared tile size when it is a valid one (strict int, not bool), else None."""
    value = decl.output.metadata.get("tile_size")
    if type(value) is int and value in CAPACITY:
        return value
    return None


@dataclass(frozen=True)
class _Tile:
    """One decoded artifact: indices (mode P) or RGBA bytes, plus its own palette if indexed."""

    file: str
    indexed: bool
    pixels: bytes  # indexed: 1 byte per pixel; otherwise RGBA, 4 bytes per pixel
    palette: tuple[int, ...]  # indexed only: RGB565 of the PNG's first 16 entries, 0-padded


def _decode_png(file: str, data: bytes, size: int) -> _Tile | Diagnostic:
    """Decode from bytes only; every failure becomes a named diagnostic, never an exception."""
    if not data.startswith(_PNG_SIGNATURE):
        return glyph_png_unreadable(file, "it is not a PNG file")
    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"])
        # Size comes from the header: reject before decoding pixels (no decompression bombs).
        if img.size != (size, size):
            w, h = img.size
            return error(
                "glyph.tile_dimensions",
                f"{file} is {w}x{h} px; with tile_size {size} every tile must be {size}x{size}",
                f"resize or crop {file} to {size}x{size} px, or change output.metadata.tile_size",
                path=file,
            )
        img.load()
        if img.mode == "P":
            raw = img.getpalette() or []
            count = min(len(raw) // 3, PALETTE_COLORS)
            entries = [rgb565(*raw[3 * i : 3 * i + 3]) for i in range(count)]
            entries += [0] * (PALETTE_COLORS - len(entries))
            return _Tile(file, True, img.tobytes(), tuple(entries))
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")  # convert() would copy
        return _Tile(file, False, rgba.tobytes(), ())
    except Exception as exc:  # Pillow raises many types for corrupt input; all mean "unreadable"
        # UnidentifiedImageError's text names a BytesIO address: keep messages reproducible.
        reason = "its header is damaged" if isinstance(exc, UnidentifiedImageError) else exc
        return glyph_png_unreadable(file, str(reason))


def _check_palettes(
    pipeline: Mapping[str, Any],
) -> tuple[dict[int, list[int]] | None, list[Diagnostic]]:
    """Parse `pipeline.palettes` → {index: [rgb565, ...]} (None when none declared)."""
    raw = pipeline.get("palettes")
    if raw is None or raw == []:
        return None, []
    where = "output.pipeline.palettes"
    if not isinstance(raw, list):
        return {}, [glyph_palette_malformed(where, "must be a list")]
    out: list[Diagnostic] = []
    if len(raw) > PALETTE_COUNT:
        out.append(
            error(
                "glyph.palette_count_exceeded",
                f"{len(raw)} palettes declared; a glyph bank holds at most {PALETTE_COUNT}",
                "merge or drop palettes",
            )
        )
    palettes: dict[int, list[int]] = {}
    for pos, entry in enumerate(raw):
        body = entry.get("palette") if isinstance(entry, dict) else None
        colors = body.get("colors") if isinstance(body, dict) else None
        if (
            not isinstance(entry, dict)
            or type(entry.get("index")) is not int
            or not isinstance(colors, list)
        ):
            out.append(
                glyph_palette_malformed(
                    f"{where}[{pos}]", "needs an integer `index` and `palette.colors` list"
                )
            )
            continue
        index: int = entry["index"]
        if not 0 <= index < PALETTE_COUNT:
            out.append(
                error(
                    "glyph.palette_index_out_of_range",
                    f"palette index {index} is outside 0..{PALETTE_COUNT - 1}",
                    f"use palette indices 0..{PALETTE_COUNT - 1}",
                )
            )
            continue
        if index in palettes:
            out.append(
                error(
                    "glyph.palette_index_duplicate",
                    f"palette index {index} is declared more than once",
                    "give each palette its own index or merge the duplicates",
                )
            )
            continue
        if len(colors) > PALETTE_COLORS:
            out.append(
                error(
                    "glyph.palette_too_many_colors",
                    f"palette {index} lists {len(colors)} colours; at most {PALETTE_COLORS} fit",
                    "remove colours or split the palette",
                )
            )
        words: list[int] = []
        for ci, color in enumerate(colors):
            rgb = parse_color(color)
            if rgb is None:
                out.append(
                    error(
                        "glyph.palette_color_invalid",
                        f'palette {index} colour {ci} is {color!r}, not "#rrggbb"',
                        'write colours as 6-digit hex, e.g. "#ff0044"',
                    )
                )
                continue
            words.append(rgb565(*rgb))
        palettes[index] = words[:PALETTE_COLORS]
    return palettes, out


class GlyphBank(Family):
    """Tiles of 8, 16 or 32 px on one 256x256 sheet with up to 64 sixteen-colour palettes."""

    type_name = "glyph_bank"
    format = "GLYPH/indexed_v1"
    bank_type = "GLYPH"
    input_role = "tiles"
    input_suffixes = (".png",)

    def max_artifacts(self, decl: AssetDeclaration | None) -> int:
        """Capacity by tile size; the largest (8 px) when unknown, so only the tile-size
        diagnostic speaks when the size itself is wrong."""
        size = tile_size_of(decl) if decl is not None else None
        return CAPACITY[size if size is not None else 8]

    def check_declaration(self, decl: AssetDeclaration) -> list[Diagnostic]:
        out = self.check_codec(decl)
        out += self.check_indices(decl, "tile")
        if tile_size_of(decl) is None:
            value = decl.output.metadata.get("tile_size")
            out.append(
                error(
                    "glyph.tile_size_invalid",
                    f"output.metadata.tile_size is {value!r}; it must be 8, 16 or 32",
                    'set "tile_size" in output.metadata to 8, 16 or 32',
                )
            )
        out += self.check_capacity(decl)
        out += _check_palettes(decl.output.pipeline)[1]
        for art in decl.sorted_artifacts():
            if not art.file.lower().endswith(".png"):
                out.append(
                    error(
                        "glyph.input_not_png",
                        f"artifact {art.index} ({art.file}) is not a .png file",
                        "glyph bank tiles must be PNG images",
                        path=art.file,
                    )
                )
        return out

    def materialize(self, decl: AssetDeclaration, files: Mapping[str, bytes]) -> MaterializeOutcome:
        declared = [d for d in self.check_declaration(decl) if d.blocking]
        size = tile_size_of(decl)
        palettes, _ = _check_palettes(decl.output.pipeline)
        if declared or size is None:
            return MaterializeOutcome(None, tuple(declared))

        problems: list[Diagnostic] = []
        tiles: list[_Tile] = []
        for art in decl.sorted_artifacts():
            data = files.get(art.file)
            if data is None:
                problems.append(input_missing(art.file))
                continue
            decoded = _decode_png(art.file, data, size)
            if isinstance(decoded, Diagnostic):
                problems.append(decoded)
            else:
                tiles.append(decoded)
        if problems:
            return MaterializeOutcome(None, tuple(problems))

        if palettes is None:
            palette0, problems = _derive_palette(tiles, size)
            palettes = {0: palette0}
            authored = 1
        else:
            authored = len(palettes)
        if problems:
            return MaterializeOutcome(None, tuple(problems))

        indices: list[bytes] = []
        lookup = {word: i for i, word in reversed(list(enumerate(palettes.get(0, []))))}
        resolved = _Resolved(lookup)
        for tile in tiles:
            mapped = _tile_indices(tile, size, lookup, resolved)
            if isinstance(mapped, Diagnostic):
                problems.append(mapped)
            else:
                indices.append(mapped)
        if problems:
            return MaterializeOutcome(None, tuple(problems))

        payload = _pixel_block(indices, size) + _palette_block(palettes)
        metadata = {
            "tile_size": size,
            "width": SHEET_SIZE,
            "height": SHEET_SIZE,
            "palette_count": PALETTE_COUNT,
            "palette_authored": authored,
            "tile_count": len(indices),
        }
        return MaterializeOutcome(Materialized(payload, DECODED_SIZE, metadata))

    def extract(self, metadata: Mapping[str, Any], payload: bytes) -> list[ExtractedFile]:
        """`sheet.png` plus `tile_NNN.png` per tile, indexed PNGs coloured with palette 0."""
        size, count = metadata.get("tile_size"), metadata.get("tile_count")
        if len(payload) != PAYLOAD_SIZE:
            raise ValueError(f"glyph payload is {len(payload)} bytes, expected {PAYLOAD_SIZE}")
        if type(size) is not int or size not in CAPACITY or type(count) is not int:
            raise ValueError(
                f"glyph metadata needs tile_size (8/16/32) and tile_count: {dict(metadata)!r}"
            )
        packed = payload[:PIXEL_BYTES]
        pixels = bytearray(SHEET_SIZE * SHEET_SIZE)
        pixels[0::2] = packed.translate(_HIGH_NIBBLE)
        pixels[1::2] = packed.translate(_LOW_NIBBLE)
        words = struct.unpack_from(f"<{PALETTE_COLORS}H", payload, PIXEL_BYTES)
        rgb = [channel for word in words for channel in rgb565_to_rgb(word)]
        sheet = Image.frombytes("P", (SHEET_SIZE, SHEET_SIZE), bytes(pixels))
        sheet.putpalette(rgb)
        out = [ExtractedFile("sheet.png", _png_bytes(sheet))]
        cols = SHEET_SIZE // size
        width = max(3, len(str(max(count - 1, 0))))
        for i in range(min(count, CAPACITY[size])):
            x, y = (i % cols) * size, (i // cols) * size
            tile = sheet.crop((x, y, x + size, y + size))
            out.append(ExtractedFile(f"tile_{i:0{width}d}.png", _png_bytes(tile)))
        return out

    def scaffold_output(self, request: ScaffoldRequest) -> OutputDecl:
        pipeline: dict[str, Any] = {}
        if "palette" in request.options:
            colors = list(request.options["palette"])
            pipeline["palettes"] = [{"index": 0, "palette": {"colors": colors}}]
        return OutputDecl(
            format=self.format,
            codec="NONE",
            metadata={"tile_size": request.options.get("tile_size", 16)},
            pipeline=pipeline,
        )


def _derive_palette(tiles: list[_Tile], size: int) -> tuple[list[int], list[Diagnostic]]:
    """Palette 0 when none is declared: from the lowest indexed PNG, else by first appearance."""
    indexed = [t for t in tiles if t.indexed]
    if indexed:
        reference = indexed[0]
        out: list[Diagnostic] = []
        for other in indexed[1:]:
            used = sorted(set(other.pixels))
            clash = [
                u for u in used if u < PALETTE_COLORS and other.palette[u] != reference.palette[u]
            ]
            if clash:
                u = clash[0]
                out.append(
                    error(
                        "glyph.indexed_palette_conflict",
                        f"{other.file} uses palette entry {u} as "
                        f"{hex_color(rgb565_to_rgb(other.palette[u]))} but {reference.file} "
                        f"(which defines the derived palette 0) has "
                        f"{hex_color(rgb565_to_rgb(reference.palette[u]))}"
                        + (f" ({len(clash)} entries differ)" if len(clash) > 1 else ""),
                        "give all indexed tiles the same palette, or declare palette 0 in "
                        "output.pipeline.palettes",
                        path=other.file,
                    )
                )
        return list(reference.palette), out

    palette = [rgb565(0, 0, 0)]
    overflow: tuple[str, int, int, tuple[int, int, int]] | None = None
    distinct: set[int] = set(palette)
    seen: set[int] = set()  # RGBA words of earlier tiles: their colours are already counted
    for tile in tiles:
        words = _rgba_words(tile.pixels)
        # Each distinct RGBA word once, in order of its first pixel (row-major): the first
        # RGBA word with a given RGB565 colour is that colour's first pixel in the tile.
        order = dict.fromkeys(words)
        if order.keys() <= seen:
            continue
        for rgba in order:
            if rgba in seen:
                continue
            seen.add(rgba)
            r, g, b, a = rgba.to_bytes(4, sys.byteorder)
            if a == 0:
                continue
            word = rgb565(r, g, b)
            if word in distinct:
                continue
            distinct.add(word)
            if len(palette) < PALETTE_COLORS:
                palette.append(word)
            elif overflow is None:
                i = words.index(rgba)
                overflow = (tile.file, i % size, i // size, (r, g, b))
    if overflow is None:
        return palette, []
    file, x, y, rgb = overflow
    return palette, [
        error(
            "glyph.derived_palette_overflow",
            f"the tiles use {len(distinct) - 1} distinct opaque colours besides black; a derived "
            f"palette holds {PALETTE_COLORS - 1}. The first that does not fit is {hex_color(rgb)} "
            f"at pixel ({x}, {y}) of {file}",
            "reduce the colours, or declare palettes in output.pipeline.palettes",
            path=file,
        )
    ]


_UNKNOWN = 0xFF  # marks a colour missing from palette 0; real indices are < 16


class _Resolved(dict[int, int]):
    """RGBA word → palette-0 index, filled on first sight: each distinct colour of an asset
    is converted to RGB565 and looked up once, however many pixels and tiles use it."""

    def __init__(self, lookup: Mapping[int, int]) -> None:
        super().__init__()
        self.lookup = lookup
        self.unknown: dict[int, int] = {}  # RGBA word → its RGB565, for colours not found

    def __missing__(self, rgba: int) -> int:
        r, g, b, a = rgba.to_bytes(4, sys.byteorder)
        index = 0  # fully transparent pixels are index 0 whatever their colour
        if a != 0:
            word = rgb565(r, g, b)
            found = self.lookup.get(word)
            if found is None:
                self.unknown[rgba] = word
            index = _UNKNOWN if found is None else found
        self[rgba] = index
        return index


def _tile_indices(
    tile: _Tile, size: int, lookup: Mapping[int, int], resolved: _Resolved | None = None
) -> bytes | Diagnostic:
    """One index byte per pixel, row-major, or the diagnostic for the first bad pixel.

    `resolved` (built on `lookup`) carries colours already seen by earlier tiles of the asset."""
    if tile.indexed:
        if not tile.pixels.translate(None, _VALID_INDICES):  # nothing left: all < 16
            return tile.pixels
        bad = [i for i, v in enumerate(tile.pixels) if v >= PALETTE_COLORS]
        i = bad[0]
        return error(
            "glyph.index_out_of_range",
            f"{tile.file} pixel ({i % size}, {i // size}) uses colour index "
            f"{tile.pixels[i]}; only indices 0..{PALETTE_COLORS - 1} exist"
            + (f" ({len(bad)} pixels affected)" if len(bad) > 1 else ""),
            f"reduce {tile.file} to a 16-colour palette (indices 0..15)",
            path=tile.file,
        )
    words = _rgba_words(tile.pixels)
    table = resolved if resolved is not None else _Resolved(lookup)
    out = bytes(map(table.__getitem__, words))
    if _UNKNOWN not in out:
        return out
    bad_words = set(words).intersection(table.unknown)
    missing = {table.unknown[rgba] for rgba in bad_words}
    i = min(map(words.index, bad_words))  # the first offending pixel, row-major
    r, g, b, _ = words[i].to_bytes(4, sys.byteorder)
    rgb = (r, g, b)
    more = f" ({len(missing)} colours are missing in total)" if len(missing) > 1 else ""
    where = "palette 0" if lookup else "palette 0 (which is not declared)"
    return error(
        "glyph.color_not_in_palette",
        f"{tile.file} pixel ({i % size}, {i // size}) has colour {hex_color(rgb)} "
        f"(RGB565 0x{rgb565(*rgb):04x}), which is not in {where}{more}",
        f"add {hex_color(rgb)} to palette 0 in output.pipeline.palettes, or repaint "
        "the pixel with a palette colour",
        path=tile.file,
    )


def _rgba_words(pixels: bytes) -> array[int]:
    """RGBA bytes as one native-order 32-bit word per pixel (row-major)."""
    words = array(_WORD)
    words.frombytes(pixels)
    return words


def _pixel_block(tiles: list[bytes], size: int) -> bytes:
    """Place tile i at column i % (256/ts), row i // (256/ts); pack two pixels per byte."""
    sheet = bytearray(SHEET_SIZE * SHEET_SIZE)
    cols = SHEET_SIZE // size
    for i, tile in enumerate(tiles):
        x0, y0 = (i % cols) * size, (i // cols) * size
        for row in range(size):
            start = (y0 + row) * SHEET_SIZE + x0
            sheet[start : start + size] = tile[row * size : (row + 1) * size]
    # Every index is < 16, so (even << 4) | odd never carries across a byte: pack all
    # 32768 pairs at once as one big integer instead of pixel by pixel.
    packed = int.from_bytes(sheet[0::2], "big") << 4 | int.from_bytes(sheet[1::2], "big")
    return packed.to_bytes(PIXEL_BYTES, "big")


def _palette_block(palettes: Mapping[int, list[int]]) -> bytes:
    """64 x 16 RGB565 words, little-endian; slots nobody declared stay zero."""
    words = [0] * (PALETTE_COUNT * PALETTE_COLORS)
    for index, colors in palettes.items():
        for entry, word in enumerate(colors[:PALETTE_COLORS]):
            words[index * PALETTE_COLORS + entry] = word
    return struct.pack(f"<{len(words)}H", *words)


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
