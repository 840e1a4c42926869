"""What `inspect --extract` writes for people to look at: glyph sheets and tiles as RGBA with
palette index 0 transparent (the runtime's convention), and one contact sheet per glyph bank
showing every tile enlarged on a checkerboard, with its palettes as swatches below."""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageDraw

from ..families import ExtractedFile

SHEET = 256
PIXEL_BYTES = SHEET * SHEET // 2
PALETTES, COLORS = 64, 16
_SCALE_FOR = {8: 4, 16: 3, 32: 2}
_GAP, _SWATCH = 4, 14


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def transparent_rgba(files: list[ExtractedFile]) -> list[ExtractedFile]:
    """Indexed PNGs re-encoded as RGBA with index 0 fully transparent; others unchanged."""
    out = []
    for f in files:
        if not f.name.endswith(".png"):
            out.append(f)
            continue
        with Image.open(io.BytesIO(f.data)) as img:
            if img.mode != "P":
                out.append(f)
                continue
            indices = img.tobytes()
            rgba = img.convert("RGBA")
        alpha = bytes(0 if i == 0 else 255 for i in indices)
        rgba.putalpha(Image.frombytes("L", rgba.size, alpha))
        out.append(ExtractedFile(f.name, _png(rgba)))
    return out


def _rgb(word: int) -> tuple[int, int, int]:
    r, g, b = (word >> 11) & 0x1F, (word >> 5) & 0x3F, word & 0x1F
    return (r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2)


def _checker(size: tuple[int, int], cell: int = 4) -> Image.Image:
    board = Image.new("RGBA", size, (204, 204, 204, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], cell):
        for x in range((y // cell) % 2 * cell, size[0], 2 * cell):
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=(153, 153, 153, 255))
    return board


def contact_sheet(metadata: Mapping[str, Any], payload: bytes) -> ExtractedFile:
    """Every tile enlarged on a checkerboard (index 0 shows through), then one row of
    swatches per authored palette (index 0 crossed out: it is transparent)."""
    size, count = int(metadata["tile_size"]), int(metadata["tile_count"])
    authored = max(1, min(int(metadata.get("palette_authored", 1)), PALETTES))
    packed = payload[:PIXEL_BYTES]
    pixels = bytearray(SHEET * SHEET)
    pixels[0::2] = bytes(b >> 4 for b in packed)
    pixels[1::2] = bytes(b & 0x0F for b in packed)
    words = struct.unpack_from(f"<{PALETTES * COLORS}H", payload, PIXEL_BYTES)
    palette0 = [c for w in words[:COLORS] for c in _rgb(w)]
    sheet = Image.frombytes("P", (SHEET, SHEET), bytes(pixels))
    sheet.putpalette(palette0)
    alpha = Image.frombytes("L", (SHEET, SHEET), bytes(0 if p == 0 else 255 for p in pixels))
    rgba = sheet.convert("RGBA")
    rgba.putalpha(alpha)

    scale, cols_in_sheet = _SCALE_FOR.get(size, 2), SHEET // size
    cell = size * scale + _GAP
    cols = max(1, min(count, max(1, 512 // cell)))
    rows = max(1, -(-count // cols))
    width = max(cols * cell + _GAP, COLORS * (_SWATCH + 2) + _GAP)
    height = rows * cell + _GAP + authored * (_SWATCH + 2) + _GAP * 2
    canvas = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    for i in range(count):
        x, y = (i % cols_in_sheet) * size, (i // cols_in_sheet) * size
        tile = rgba.crop((x, y, x + size, y + size)).resize(
            (size * scale, size * scale), Image.Resampling.NEAREST
        )
        at = (_GAP + (i % cols) * cell, _GAP + (i // cols) * cell)
        board = _checker(tile.size)
        board.alpha_composite(tile)
        canvas.paste(board, at)
    draw = ImageDraw.Draw(canvas)
    top = rows * cell + _GAP * 2
    for p in range(authored):
        for c in range(COLORS):
            x0, y0 = _GAP + c * (_SWATCH + 2), top + p * (_SWATCH + 2)
            box = (x0, y0, x0 + _SWATCH - 1, y0 + _SWATCH - 1)
            draw.rectangle(box, fill=_rgb(words[p * COLORS + c]), outline=(0, 0, 0))
            if c == 0:
                draw.line(box, fill=(255, 0, 0), width=1)
    return ExtractedFile("contact_sheet.png", _png(canvas))
