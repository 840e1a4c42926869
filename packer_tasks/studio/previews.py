"""Previews from the packed bytes: what the console will get, not what the PNGs say.

Glyph sheets and samples are cut out of `build/assets.pa` by the strict reader and turned
into viewable files by the family's own `extract`; the Studio only adds transparency (index
0) to the sheet and lists the palettes and loop points the header and payload hold. The file
read is always the project's own `build/assets.pa`; nothing from a request names a path.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..artifact.inspect import metadata_problems
from ..artifact.reader import ReadResult, read_assets_pa_file
from ..families import FAMILIES
from ..families.glyph_bank import PALETTE_COLORS, PALETTE_COUNT, PIXEL_BYTES, rgb565_to_rgb

GLYPH_BANK = "GLYPH"
SOUND_BANK = "SOUNDS"


class PreviewMissing(Exception):
    """The asset is not in build/assets.pa (never packed, excluded, or the file is bad)."""


@dataclass(frozen=True)
class Packed:
    """One asset as build/assets.pa holds it."""

    entry: dict[str, Any]
    payload: bytes


class PackedFile:
    """build/assets.pa, read once per version of the file (its stat facts)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stat: tuple[int, int, int] | None = None
        self._read: ReadResult | None = None

    def read(self) -> ReadResult | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        facts = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if facts != self._stat:
                self._read, self._stat = read_assets_pa_file(self.path), facts
            return self._read

    def asset(self, asset_id: int) -> Packed:
        read = self.read()
        if read is None:
            raise PreviewMissing("build/assets.pa does not exist yet: run the Pack Wizard")
        problems = [p for p in [*read.problems, *metadata_problems(read.asset_table)] if p.blocking]
        if problems:  # the strict reader's and inspect's verdict: nothing is cut from it
            raise PreviewMissing(f"build/assets.pa is not valid: {problems[0].message}")
        for entry in read.asset_table:
            if isinstance(entry, dict) and entry.get("asset_id") == asset_id:
                try:
                    return Packed(entry, read.payload(asset_id))
                except KeyError:
                    break
        raise PreviewMissing(f"asset {asset_id} is not in build/assets.pa (pack to see it)")


def extracted(packed: Packed) -> dict[str, bytes]:
    """The family's own rendering of the payload (sheet.png, sample_NNN.wav)."""
    bank = packed.entry.get("bank_type")
    family = next((f for f in FAMILIES.values() if f.bank_type == bank), None)
    if family is None:
        raise PreviewMissing(f"no preview for bank type {packed.entry.get('bank_type')!r}")
    try:
        return {f.name: f.data for f in family.extract(packed.entry["metadata"], packed.payload)}
    except (ValueError, KeyError, TypeError) as exc:
        raise PreviewMissing(f"the packed asset cannot be extracted: {exc}") from None


def glyph_sheet_png(packed: Packed) -> bytes:
    """The 256x256 sheet coloured with palette 0, index 0 fully transparent (RGBA PNG)."""
    sheet = Image.open(io.BytesIO(extracted(packed)["sheet.png"]))
    alpha = sheet.point(lambda i: 0 if i == 0 else 255, mode="L")
    rgba = sheet.convert("RGBA")
    rgba.putalpha(alpha)
    out = io.BytesIO()
    rgba.save(out, format="PNG")
    return out.getvalue()


def glyph_info(packed: Packed) -> dict[str, Any]:
    """Tile grid and the authored palettes, read from the header and the palette block."""
    meta = packed.entry["metadata"]
    words = struct.unpack_from(f"<{PALETTE_COUNT * PALETTE_COLORS}H", packed.payload, PIXEL_BYTES)
    authored = int(meta.get("palette_authored", 0))
    palettes = [
        [
            "#{:02x}{:02x}{:02x}".format(*rgb565_to_rgb(w))
            for w in words[p * PALETTE_COLORS : (p + 1) * PALETTE_COLORS]
        ]
        for p in range(min(max(authored, 1), PALETTE_COUNT))
    ]
    return {
        "kind": "glyph",
        "tile_size": meta.get("tile_size"),
        "tile_count": meta.get("tile_count"),
        "width": meta.get("width"),
        "height": meta.get("height"),
        "palettes": palettes,
    }


def sound_info(packed: Packed) -> dict[str, Any]:
    """Per sample: frames, rate, seconds and loop points, as the header states them."""
    samples = packed.entry["metadata"].get("samples", {})
    rows = []
    for key in sorted(samples, key=int):
        info = samples[key]
        rows.append(
            {
                "sample_id": int(key),
                "frames": info["frames"],
                "sample_rate": info["sample_rate"],
                "seconds": round(info["frames"] / info["sample_rate"], 3),
                "loop_start": info.get("loop_start"),
                "loop_end": info.get("loop_end"),
            }
        )
    return {"kind": "sound", "samples": rows}


def preview_info(packed: Packed) -> dict[str, Any]:
    bank = packed.entry.get("bank_type")
    base = {
        "asset_id": packed.entry.get("asset_id"),
        "bank_type": bank,
        "size": packed.entry.get("size"),
    }
    if bank == GLYPH_BANK:
        return {**base, **glyph_info(packed)}
    if bank == SOUND_BANK:
        return {**base, **sound_info(packed)}
    return {**base, "kind": "none"}


def sample_wav(packed: Packed, sample_id: int) -> bytes:
    """The packed PCM of one sample as a mono 16-bit WAV."""
    files = extracted(packed)
    name = next((n for n in files if n.startswith("sample_") and int(n[7:-4]) == sample_id), None)
    if name is None:
        raise PreviewMissing(f"no sample {sample_id} in asset {packed.entry.get('asset_id')}")
    return files[name]
