"""An independent `assets.pa` v1 reader, written from SPEC §4-§5 only (tests only).

Nothing here imports `packer_tasks` or `cache`: the structure is parsed with `struct` and
`json`, so a writer bug cannot hide behind a shared helper. Every rule violation raises
`FormatError` with a message naming the rule.

The second half derives *expected* results straight from source files with the SPEC's rules
(pixel indices from PNGs, mono s16 PCM from WAVs), using Pillow and the stdlib `wave` module
only to decode the containers.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRELUDE = struct.Struct("<4sIIIII")
ENTRY_KEYS = {
    "asset_id",
    "asset_name",
    "bank_type",
    "offset",
    "size",
    "decoded_size",
    "codec",
    "metadata",
}
SHEET = 256
PIXEL_BYTES = SHEET * SHEET // 2
PALETTE_BYTES = 64 * 16 * 2
GLYPH_SIZE = PIXEL_BYTES + PALETTE_BYTES
GLYPH_DECODED = SHEET * SHEET + PALETTE_BYTES
GLYPH_META_KEYS = {
    "tile_size",
    "width",
    "height",
    "palette_count",
    "palette_authored",
    "tile_count",
}
CAPACITY = {8: 1024, 16: 256, 32: 64}


class FormatError(AssertionError):
    """The bytes break a rule of SPEC §4/§5."""


def align16(n: int) -> int:
    return (n + 15) // 16 * 16


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pretty(value: Any) -> bytes:
    """The companion-file spelling: sorted keys, 2-space indent, trailing newline."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise FormatError(message)


def _is_int(v: Any) -> bool:
    return type(v) is int


def _no_float(text: str) -> Any:
    raise FormatError(f"header holds a float ({text}); canonical JSON has none")


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    _require(len(set(keys)) == len(keys), f"duplicate object keys in header: {keys}")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise FormatError(f"header holds {name}")


@dataclass
class Pa:
    """A parsed, fully checked `assets.pa`."""

    data: bytes
    header_len: int
    payload_offset: int
    header_bytes: bytes
    header: dict[str, Any]

    @property
    def asset_table(self) -> list[dict[str, Any]]:
        table: list[dict[str, Any]] = self.header["asset_table"]
        return table

    @property
    def preload(self) -> list[dict[str, int]]:
        preload: list[dict[str, int]] = self.header["preload"]
        return preload

    def entry(self, asset_id: int) -> dict[str, Any]:
        for e in self.asset_table:
            if e["asset_id"] == asset_id:
                return e
        raise KeyError(asset_id)

    def payload(self, asset_id: int) -> bytes:
        e = self.entry(asset_id)
        start = self.payload_offset + e["offset"]
        return self.data[start : start + e["size"]]

    def preload_by_bank(self) -> dict[str, dict[int, int]]:
        """bank_type → {asset_id: slot}."""
        bank = {e["asset_id"]: e["bank_type"] for e in self.asset_table}
        out: dict[str, dict[int, int]] = {}
        for p in self.preload:
            out.setdefault(bank[p["asset_id"]], {})[p["asset_id"]] = p["slot"]
        return out


def read_pa(data: bytes) -> Pa:
    """Parse and check every structural rule of SPEC §5; raise FormatError on any defect."""
    data = bytes(data)
    _require(len(data) >= 24, f"file is {len(data)} bytes, shorter than the 24-byte prelude")
    magic, version, flags, reserved, header_len, payload_offset = PRELUDE.unpack_from(data)
    _require(magic == b"PMPA", f"magic is {magic!r}")
    _require(version == 1, f"schema_version is {version}")
    _require(flags == 0, f"flags is {flags}")
    _require(reserved == 0, f"reserved is {reserved}")
    _require(24 + header_len <= len(data), "header runs past the end of the file")
    _require(
        payload_offset == align16(24 + header_len),
        f"payload_offset {payload_offset} != align16(24 + {header_len})",
    )
    _require(payload_offset <= len(data), "payload_offset is past the end of the file")
    header_bytes = data[24 : 24 + header_len]
    try:
        text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"header is not UTF-8: {exc}") from None
    try:
        header = json.loads(
            text,
            parse_float=_no_float,
            object_pairs_hook=_no_dupes,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise FormatError(f"header is not JSON: {exc}") from None
    _require(isinstance(header, dict), "header is not an object")
    _require(set(header) == {"asset_table", "preload"}, f"header keys are {sorted(header)}")
    _require(canonical(header) == header_bytes, "header bytes are not the canonical spelling")
    _require(
        data[24 + header_len : payload_offset] == bytes(payload_offset - 24 - header_len),
        "padding between header and payload region is not zero",
    )

    table = header["asset_table"]
    preload = header["preload"]
    _require(isinstance(table, list) and isinstance(preload, list), "table/preload not lists")
    region = len(data) - payload_offset
    cursor = 0
    previous_id = 0
    for e in table:
        _require(isinstance(e, dict) and set(e) == ENTRY_KEYS, f"entry keys: {e!r}")
        aid = e["asset_id"]
        _require(_is_int(aid) and aid > previous_id, f"asset_id {aid!r} not increasing")
        previous_id = aid
        for k in ("offset", "size", "decoded_size"):
            _require(_is_int(e[k]) and e[k] >= 0, f"asset {aid}: {k} = {e[k]!r}")
        for k in ("asset_name", "bank_type", "codec"):
            _require(isinstance(e[k], str), f"asset {aid}: {k} is not a string")
        _require(e["codec"] == "NONE", f"asset {aid}: codec {e['codec']!r}")
        _require(isinstance(e["metadata"], dict), f"asset {aid}: metadata not an object")
        _require(e["offset"] % 16 == 0, f"asset {aid}: offset {e['offset']} not 16-aligned")
        _require(e["offset"] >= cursor, f"asset {aid}: payload overlaps the previous one")
        _require(e["offset"] + e["size"] <= region, f"asset {aid}: payload out of bounds")
        gap = data[payload_offset + cursor : payload_offset + e["offset"]]
        _require(gap == bytes(len(gap)), f"gap before asset {aid} is not zero")
        cursor = e["offset"] + e["size"]
    _require(cursor == region, f"file holds {region - cursor} bytes after the last payload")

    banks = {e["asset_id"]: e["bank_type"] for e in table}
    used: set[tuple[str, int]] = set()
    previous_id = 0
    for p in preload:
        _require(isinstance(p, dict) and set(p) == {"asset_id", "slot"}, f"preload {p!r}")
        aid, slot = p["asset_id"], p["slot"]
        _require(_is_int(aid) and aid > previous_id, "preload not ordered by asset_id")
        previous_id = aid
        _require(aid in banks, f"preload names unknown asset {aid}")
        _require(_is_int(slot) and 0 <= slot <= 15, f"preload slot {slot!r}")
        _require((banks[aid], slot) not in used, f"slot {slot} reused in {banks[aid]}")
        used.add((banks[aid], slot))
    counts: dict[str, int] = {}
    for b, _ in used:
        counts[b] = counts.get(b, 0) + 1
    _require(all(c <= 16 for c in counts.values()), "more than 16 preloads in a bank type")
    return Pa(data, header_len, payload_offset, header_bytes, header)


def read_pa_file(path: Path) -> Pa:
    return read_pa(Path(path).read_bytes())


# -- GLYPH ---------------------------------------------------------------------------------


@dataclass
class Glyph:
    tile_size: int
    tile_count: int
    palette_authored: int
    pixels: bytes  # 256*256 indices, one byte per pixel
    palettes: list[list[int]]  # 64 x 16 RGB565 words

    def tile(self, i: int) -> bytes:
        """Tile i's indices, row-major (column i % cols, row i // cols)."""
        ts = self.tile_size
        cols = SHEET // ts
        x0, y0 = (i % cols) * ts, (i // cols) * ts
        return b"".join(
            self.pixels[(y0 + r) * SHEET + x0 : (y0 + r) * SHEET + x0 + ts] for r in range(ts)
        )


def decode_glyph(entry: Mapping[str, Any], payload: bytes) -> Glyph:
    """Decode a GLYPH/indexed_v1 payload; check sizes, metadata and empty cells."""
    aid = entry["asset_id"]
    _require(entry["bank_type"] == "GLYPH", f"asset {aid} is not GLYPH")
    _require(entry["size"] == GLYPH_SIZE == len(payload), f"asset {aid}: size {entry['size']}")
    _require(entry["decoded_size"] == GLYPH_DECODED, f"asset {aid}: decoded_size")
    meta = entry["metadata"]
    _require(set(meta) == GLYPH_META_KEYS, f"asset {aid}: metadata keys {sorted(meta)}")
    _require(meta["width"] == 256 and meta["height"] == 256, f"asset {aid}: sheet size")
    _require(meta["palette_count"] == 64, f"asset {aid}: palette_count")
    ts, count = meta["tile_size"], meta["tile_count"]
    _require(ts in CAPACITY and 0 <= count <= CAPACITY[ts], f"asset {aid}: tiles {ts}/{count}")
    _require(1 <= meta["palette_authored"] <= 64, f"asset {aid}: palette_authored")
    pixels = bytearray(SHEET * SHEET)
    for i, b in enumerate(payload[:PIXEL_BYTES]):
        pixels[2 * i] = b >> 4  # even x: high nibble
        pixels[2 * i + 1] = b & 0x0F
    words = struct.unpack_from("<1024H", payload, PIXEL_BYTES)
    palettes = [list(words[p * 16 : p * 16 + 16]) for p in range(64)]
    glyph = Glyph(ts, count, meta["palette_authored"], bytes(pixels), palettes)
    # Cells without a tile are 0.
    cols = SHEET // ts
    occupied = bytearray(SHEET * SHEET)
    for i in range(count):
        x0, y0 = (i % cols) * ts, (i // cols) * ts
        for r in range(ts):
            occupied[(y0 + r) * SHEET + x0 : (y0 + r) * SHEET + x0 + ts] = b"\x01" * ts
    stray = [i for i in range(SHEET * SHEET) if not occupied[i] and pixels[i]]
    _require(not stray, f"asset {aid}: {len(stray)} non-zero pixels outside tiles")
    return glyph


# -- SOUNDS --------------------------------------------------------------------------------


@dataclass
class Sample:
    pcm: list[int]  # signed 16-bit values
    sample_rate: int
    loop_start: int | None
    loop_end: int | None


def decode_sounds(entry: Mapping[str, Any], payload: bytes) -> dict[int, Sample]:
    """Decode a SOUNDS/pcm16le_v1 payload: samples concatenated by id, offsets in bytes."""
    aid = entry["asset_id"]
    _require(entry["bank_type"] == "SOUNDS", f"asset {aid} is not SOUNDS")
    _require(entry["size"] == entry["decoded_size"] == len(payload), f"asset {aid}: sizes")
    meta = entry["metadata"]
    _require(set(meta) == {"channels", "sample_count", "samples"}, f"asset {aid}: meta keys")
    _require(meta["channels"] == 1, f"asset {aid}: channels")
    samples = meta["samples"]
    n = meta["sample_count"]
    _require(sorted(samples) == sorted(str(i) for i in range(n)), f"asset {aid}: sample ids")
    out: dict[int, Sample] = {}
    cursor = 0
    for i in range(n):
        s = samples[str(i)]
        keys = set(s)
        _require(
            {"offset", "frames", "sample_rate"}
            <= keys
            <= {"offset", "frames", "sample_rate", "loop_start", "loop_end"},
            f"asset {aid} sample {i}: keys {sorted(keys)}",
        )
        _require(s["offset"] == cursor, f"asset {aid} sample {i}: offset not concatenated")
        _require(8000 <= s["sample_rate"] <= 48000, f"asset {aid} sample {i}: rate")
        end = s["offset"] + 2 * s["frames"]
        _require(end <= len(payload), f"asset {aid} sample {i}: out of bounds")
        pcm = list(struct.unpack_from(f"<{s['frames']}h", payload, s["offset"]))
        ls, le = s.get("loop_start"), s.get("loop_end")
        _require((ls is None) == (le is None), f"asset {aid} sample {i}: half a loop")
        if ls is not None:
            _require(0 <= ls < le <= s["frames"], f"asset {aid} sample {i}: loop {ls}..{le}")
        out[i] = Sample(pcm, s["sample_rate"], ls, le)
        cursor = end
    _require(cursor == len(payload), f"asset {aid}: payload has trailing bytes")
    return out


# -- expectations straight from source files (SPEC §4 rules) -------------------------------


def rgb565(r: int, g: int, b: int) -> int:
    return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)


def hex565(color: str) -> int:
    return rgb565(int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _open_png(data: bytes) -> Any:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def png_indices(data: bytes) -> tuple[bytes, list[int]] | None:
    """For an indexed (mode P) PNG: its own indices and its first 16 palette entries as
    RGB565; None for any other mode."""
    img = _open_png(data)
    if img.mode != "P":
        return None
    raw = img.getpalette() or []
    pal = [rgb565(*raw[3 * i : 3 * i + 3]) for i in range(min(16, len(raw) // 3))]
    return img.tobytes(), pal + [0] * (16 - len(pal))


def png_rgba(data: bytes) -> list[tuple[int, int, int, int]]:
    img = _open_png(data).convert("RGBA")
    raw = img.tobytes()
    return [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]


def match_palette(pixels: Iterable[tuple[int, int, int, int]], palette0: Sequence[int]) -> bytes:
    """Alpha 0 → 0; otherwise the first palette-0 entry with the same RGB565."""
    out = bytearray()
    for r, g, b, a in pixels:
        if a == 0:
            out.append(0)
            continue
        word = rgb565(r, g, b)
        if word not in palette0:
            raise ValueError(f"colour {(r, g, b)} not in palette 0")
        out.append(list(palette0).index(word))
    return bytes(out)


def derive_rgb_palette(tiles: Sequence[bytes]) -> list[int]:
    """Entry 0 black, then distinct opaque colours by first appearance (tiles by index)."""
    palette = [0]
    for data in tiles:
        for r, g, b, a in png_rgba(data):
            if a == 0:
                continue
            word = rgb565(r, g, b)
            if word not in palette:
                palette.append(word)
    return palette


def expected_glyph(
    tiles: Sequence[bytes], declared: Sequence[Sequence[str]] | None
) -> tuple[list[bytes], list[list[int]]]:
    """Per-tile indices and the 16-word palettes, from PNG bytes (by artifact index) and the
    declared palettes (list indexed by palette index) or None for a derived palette 0."""
    if declared is not None:
        palettes = [[hex565(c) for c in colors] for colors in declared]
    else:
        indexed = [png_indices(t) for t in tiles]
        first = next((x for x in indexed if x is not None), None)
        palettes = [first[1]] if first is not None else [derive_rgb_palette(tiles)]
    out: list[bytes] = []
    for data in tiles:
        idx = png_indices(data)
        out.append(idx[0] if idx is not None else match_palette(png_rgba(data), palettes[0]))
    return out, [p + [0] * (16 - len(p)) for p in palettes]


def wav_to_mono16(data: bytes) -> tuple[list[int], int]:
    """A PCM WAV → (mono s16 values, sample_rate), per SPEC §4.2's conversions."""
    with wave.open(io.BytesIO(data)) as w:
        ch, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    values: list[int] = []
    for i in range(0, len(raw), width):
        chunk = raw[i : i + width]
        if width == 1:
            values.append((chunk[0] - 128) << 8)
        else:
            v = int.from_bytes(chunk, "little", signed=True)
            values.append(v >> (8 * width - 16))
    mono = [sum(values[f * ch : f * ch + ch]) // ch for f in range(len(values) // ch)]
    return mono, rate
