#!/usr/bin/env python3
"""Regenerate every file under ``sample_projects/starter/assets/``.

The starter project's art and sound are authored here as code so that they can be
reproduced byte for byte: running this script twice yields identical files.

* Pixel art is spelled out as character grids (one character = one pixel).
* Audio is synthesised with integer-only DSP (phase accumulators, integer envelopes,
  a seeded linear congruential generator), so no floating point rounding differs
  between machines.  The only float use is building a rounded integer sine table.
* PNGs are written by Pillow with ``optimize=False`` and no metadata chunks; WAVs
  are written with the standard ``wave`` module.
* JSON is written canonically: sorted keys, 2-space indent, trailing newline.

Usage::

    python sample_projects/starter/tools/make_assets.py

Requires Pillow.
"""

from __future__ import annotations

import json
import math
import struct
import wave
from pathlib import Path

from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS = PROJECT_ROOT / "assets"

# Fixed identities (UUID4s generated once; never regenerate them).
UUID_HUD_ICONS = "5322b49c-8a91-4366-a465-16b9908b4797"
UUID_TILES_8 = "37054bc7-66f3-42a0-9886-28f8a5fa6c31"
UUID_HERO_32 = "20fc04a8-3e8f-4994-8ccb-f37b01780f05"
UUID_SFX_BASIC = "60047d13-0ebc-45c8-b8fe-d04f0644e202"
UUID_MUSIC_LOOP = "2f57fd1e-2f75-431d-b480-3420af977e25"
UUID_UNUSED_IDEA = "aab0852c-9781-43e1-b56d-cd1bcd8622ae"


# --------------------------------------------------------------------------- helpers


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, sort_keys=True, indent=2) + "\n"
    path.write_bytes(text.encode("utf-8"))


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def check_rgb565_exact(rgb: tuple[int, int, int]) -> None:
    """Every colour used must survive RGB565 conversion unchanged in meaning."""
    r, g, b = rgb
    assert r % 8 == 0 and g % 4 == 0 and b % 8 == 0, rgb


def check_grid(name: str, rows: list[str], size: int) -> None:
    assert len(rows) == size, (name, len(rows))
    for y, row in enumerate(rows):
        assert len(row) == size, (name, y, row, len(row))


def save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.info.clear()  # no metadata chunks
    img.save(path, format="PNG", optimize=False)


def rgba_from_grid(
    name: str, rows: list[str], colors: dict[str, tuple[int, int, int]]
) -> Image.Image:
    size = len(rows)
    check_grid(name, rows, size)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    px = img.load()
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch == ".":
                continue  # fully transparent (0, 0, 0, 0)
            px[x, y] = colors[ch] + (255,)
    return img


def rgb_from_grid(
    name: str, rows: list[str], colors: dict[str, tuple[int, int, int]], scale: int
) -> Image.Image:
    size = len(rows)
    check_grid(name, rows, size)
    img = Image.new("RGB", (size * scale, size * scale))
    px = img.load()
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            for dy in range(scale):
                for dx in range(scale):
                    px[x * scale + dx, y * scale + dy] = colors[ch]
    return img


def indexed_from_grid(name: str, rows: list[str], palette: list[tuple[int, int, int]]) -> Image.Image:
    """Mode ``P`` image; each character is a hex digit naming the palette index."""
    size = len(rows)
    check_grid(name, rows, size)
    img = Image.new("P", (size, size), 0)
    flat: list[int] = []
    for rgb in palette:
        flat.extend(rgb)
    img.putpalette(flat)  # exactly len(palette) entries -> 4-bit PNG with a short PLTE
    px = img.load()
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            idx = int(ch, 16)
            assert idx < len(palette), (name, x, y, ch)
            px[x, y] = idx
    return img


def glyph_asset_json(
    uuid: str,
    name: str,
    files: list[str],
    tile_size: int,
    preload: dict,
    palette: list[tuple[int, int, int]] | None = None,
) -> dict:
    pipeline: dict = {}
    if palette is not None:
        pipeline = {
            "palettes": [
                {"index": 0, "palette": {"colors": [hex_color(c) for c in palette]}}
            ]
        }
    return {
        "schema_version": 1,
        "asset_uuid": uuid,
        "name": name,
        "type": "glyph_bank",
        "inputs": {"tiles": list(files)},
        "artifacts": [{"index": i, "file": f} for i, f in enumerate(files)],
        "output": {
            "format": "GLYPH/indexed_v1",
            "codec": "NONE",
            "metadata": {"tile_size": tile_size},
            "pipeline": pipeline,
        },
        "preload": preload,
    }


def sound_asset_json(uuid: str, name: str, artifacts: list[dict], preload: dict) -> dict:
    return {
        "schema_version": 1,
        "asset_uuid": uuid,
        "name": name,
        "type": "sound_bank",
        "inputs": {"samples": [a["file"] for a in artifacts]},
        "artifacts": [dict(a, index=i) for i, a in enumerate(artifacts)],
        "output": {
            "format": "SOUNDS/pcm16le_v1",
            "codec": "NONE",
            "metadata": {},
            "pipeline": {},
        },
        "preload": preload,
    }


# --------------------------------------------------------------------------- 1. ui/hud_icons

HUD_COLORS: dict[str, tuple[int, int, int]] = {
    "O": (24, 16, 32),  # outline (deliberately not pure black: black is the transparent entry)
    "R": (232, 40, 72),  # heart red
    "H": (248, 136, 152),  # heart highlight
    "D": (152, 24, 48),  # heart shade
    "Y": (248, 200, 56),  # gold
    "L": (248, 240, 168),  # gold highlight
    "G": (200, 128, 24),  # gold shade
    "W": (232, 232, 216),  # bone
    "S": (160, 160, 152),  # bone shade
}

HUD_TILES: dict[str, list[str]] = {
    "heart.png": [
        "................",
        "...OOO....OOO...",
        "..ORRRO..ORRRO..",
        ".ORHHRROORRRRRO.",
        ".ORHRRRRRRRRRRO.",
        ".ORRRRRRRRRRRDO.",
        ".ORRRRRRRRRRRDO.",
        "..ORRRRRRRRRDO..",
        "...ORRRRRRRDO...",
        "....ORRRRRDO....",
        ".....ORRRDO.....",
        "......ORDO......",
        ".......OO.......",
        "................",
        "................",
        "................",
    ],
    "coin.png": [
        "................",
        ".....OOOOOO.....",
        "...OOYYYYYYOO...",
        "..OYYLLYYYYYYO..",
        "..OYLYYGGGYYGO..",
        ".OYLYYGYYYGYYGO.",
        ".OYLYYGYYYYYYGO.",
        ".OYYYYGYYYYYYGO.",
        ".OYYYYGYYYYYYGO.",
        ".OYYYYGYYYGYYGO.",
        ".OYYYYYGGGYYYGO.",
        "..OYYYYYYYYYGO..",
        "..OGYYYYYYYGGO..",
        "...OOGGGGGGOO...",
        ".....OOOOOO.....",
        "................",
    ],
    "key.png": [
        "................",
        "................",
        "................",
        "..OOOO..........",
        ".OYYYYO.........",
        "OYLOOYYO........",
        "OYO..OYOOOOOOOO.",
        "OYO..OYLLLLLLLYO",
        "OYYOOYYGGGGGGGGO",
        ".OYYYYOOOOGYOGYO",
        "..OOOO...OGYOGYO",
        ".........OOOOGYO",
        "............OOOO",
        "................",
        "................",
        "................",
    ],
    "star.png": [
        "................",
        ".......OO.......",
        "......OYYO......",
        "......OLYO......",
        ".....OYLYYO.....",
        "OOOOOOYLYYOOOOOO",
        "OYYYYYLYYYYYYYGO",
        ".OYYYYYYYYYYYGO.",
        "..OYYYYYYYYYGO..",
        "...OYYYYYYYYO...",
        "...OYYYYYYYYO...",
        "..OYYYYGGYYYYO..",
        "..OYYYGOOGYYGO..",
        ".OYYGOO..OOGYGO.",
        ".OYGO......OGGO.",
        ".OOO........OOO.",
    ],
    "skull.png": [
        "................",
        "....OOOOOOOO....",
        "...OWWWWWWWWO...",
        "..OWWWWWWWWWWO..",
        ".OWWWWWWWWWWWSO.",
        ".OWWWWWWWWWWWSO.",
        ".OWOOOWWWWOOOSO.",
        ".OWOROWWWWOROSO.",
        ".OWWOWWWWWWOWSO.",
        ".OWWWWWOOWWWWSO.",
        "..OWWWWOOWWWSO..",
        "...OSWWWWWWSO...",
        "...OWOWOWOWSO...",
        "...OSOSOSOSSO...",
        "....OOOOOOOO....",
        "................",
    ],
}


def make_hud_icons() -> None:
    root = ASSETS / "ui" / "hud_icons"
    used: list[tuple[int, int, int]] = []
    for fname, rows in HUD_TILES.items():
        save_png(rgba_from_grid(fname, rows, HUD_COLORS), root / fname)
        for row in rows:
            for ch in row:
                if ch != "." and HUD_COLORS[ch] not in used:
                    used.append(HUD_COLORS[ch])
    # Palette 0: entry 0 transparent black, then every colour used, in table order.
    palette = [(0, 0, 0)] + [c for c in HUD_COLORS.values() if c in used]
    assert len(palette) <= 16
    for c in palette:
        check_rgb565_exact(c)
    write_json(
        root / "asset.json",
        glyph_asset_json(
            UUID_HUD_ICONS,
            "hud_icons",
            list(HUD_TILES),
            16,
            {"enabled": True, "slot": 0},
            palette=palette,
        ),
    )


# --------------------------------------------------------------------------- 2. world/tiles_8

TERRAIN_PALETTE: list[tuple[int, int, int]] = [
    (0, 0, 0),  # 0 transparent
    (24, 16, 32),  # 1 outline
    (48, 120, 40),  # 2 grass dark
    (88, 176, 48),  # 3 grass
    (152, 216, 72),  # 4 grass light
    (104, 64, 32),  # 5 dirt dark
    (152, 100, 48),  # 6 dirt
    (192, 140, 80),  # 7 dirt light
    (88, 92, 104),  # 8 stone dark
    (136, 140, 152),  # 9 stone
    (192, 196, 200),  # a stone light / mortar
    (176, 60, 48),  # b brick
    (32, 72, 160),  # c water dark
    (56, 120, 216),  # d water
    (144, 200, 240),  # e water light / foam
    (224, 204, 136),  # f sand / petals
]

TERRAIN_TILES: dict[str, list[str]] = {
    "grass.png": [
        "33343333",
        "33333343",
        "34333333",
        "33332333",
        "33333334",
        "43333333",
        "33323333",
        "33333433",
    ],
    "grass_top.png": [
        "34433443",
        "33333333",
        "32332333",
        "25326325",
        "66566656",
        "67666676",
        "66656666",
        "76666566",
    ],
    "dirt.png": [
        "66666766",
        "67665666",
        "66666667",
        "65667666",
        "66666566",
        "76666666",
        "66576667",
        "66666666",
    ],
    "stone.png": [
        "a99a8a99",
        "99981999",
        "98818998",
        "88199988",
        "9a998aa9",
        "99981999",
        "a9881999",
        "88888188",
    ],
    "brick.png": [
        "bbbabbbb",
        "bbbabbbb",
        "555a5555",
        "aaaaaaaa",
        "bbbbbbba",
        "bbbbbbba",
        "5555555a",
        "aaaaaaaa",
    ],
    "water.png": [
        "dddddddd",
        "deeddddd",
        "eddeddde",
        "ddddddcd",
        "dddddeed",
        "eddddedd",
        "cddddddc",
        "dddcdddd",
    ],
    "sand.png": [
        "ffffffff",
        "ff7fffff",
        "fffff7ff",
        "ffffffff",
        "f7ffffff",
        "ffff7ff7",
        "ffffffff",
        "ff7fff7f",
    ],
    "wood.png": [
        "77777777",
        "66666665",
        "66656666",
        "55555555",
        "77777777",
        "66666665",
        "66665666",
        "55555555",
    ],
    "flower.png": [
        "33333333",
        "33f33333",
        "3fbf3333",
        "33f32333",
        "33233f33",
        "3323fbf3",
        "33333f33",
        "33333333",
    ],
    "ladder.png": [
        "50000005",
        "57777775",
        "50000005",
        "50000005",
        "57777775",
        "50000005",
        "50000005",
        "57777775",
    ],
}


def make_tiles_8() -> None:
    root = ASSETS / "world" / "tiles_8"
    for c in TERRAIN_PALETTE:
        check_rgb565_exact(c)
    assert len(TERRAIN_PALETTE) <= 16
    for fname, rows in TERRAIN_TILES.items():
        save_png(indexed_from_grid(fname, rows, TERRAIN_PALETTE), root / fname)
    write_json(
        root / "asset.json",
        glyph_asset_json(UUID_TILES_8, "tiles_8", list(TERRAIN_TILES), 8, {"enabled": True}),
    )


# --------------------------------------------------------------------------- 3. chars/hero_32

# RGB (no alpha): the hero stands on a sky backdrop. No pure black anywhere, so the
# derived palette is: #000000, then these colours in order of first appearance.
HERO_COLORS: dict[str, tuple[int, int, int]] = {
    "B": (136, 192, 232),  # sky backdrop
    "O": (24, 16, 32),  # outline
    "H": (120, 64, 32),  # hair
    "S": (248, 196, 144),  # skin
    "T": (48, 112, 200),  # tunic
    "Y": (248, 200, 56),  # belt
    "P": (88, 64, 48),  # trousers
    "K": (152, 56, 40),  # boots
}

_HERO_TOP = [
    "BBBBBBBBBBBBBBBB",
    "BBBBBOOOOOOBBBBB",
    "BBBBOHHHHHHOBBBB",
    "BBBOHHHHHHHHOBBB",
    "BBBOHSSSSSSHOBBB",
    "BBBOSSOSSOSSOBBB",
    "BBBOSSOSSOSSOBBB",
    "BBBBOSSSSSSOBBBB",
    "BBBOOOTTTTOOOBBB",
]

# Each frame: 16x16 art, written as 32x32 by doubling every pixel.
HERO_FRAMES: dict[str, list[str]] = {
    "idle.png": _HERO_TOP
    + [
        "BBOSOTTTTTTOSOBB",
        "BBOSOTTTTTTOSOBB",
        "BBBOOYYYYYYOOBBB",
        "BBBBOPPPPPPOBBBB",
        "BBBBOPPOOPPOBBBB",
        "BBBBOKKOOKKOBBBB",
        "BBBBOOOBBOOOBBBB",
    ],
    "walk_a.png": _HERO_TOP
    + [
        "BBOSOTTTTTTOOBBB",
        "BBOSOTTTTTTOSOBB",
        "BBBOOYYYYYYOSOBB",
        "BBBBOPPPPPPOOBBB",
        "BBBBOKKOOPPOBBBB",
        "BBBBOOOOOKKOBBBB",
        "BBBBBBBBBOOOBBBB",
    ],
    "walk_b.png": _HERO_TOP
    + [
        "BBBOOTTTTTTOSOBB",
        "BBOSOTTTTTTOSOBB",
        "BBOSOYYYYYYOOBBB",
        "BBBOOPPPPPPOBBBB",
        "BBBBOPPOOKKOBBBB",
        "BBBBOKKOOOOOBBBB",
        "BBBBOOOBBBBBBBBB",
    ],
}


def make_hero_32() -> None:
    root = ASSETS / "chars" / "hero_32"
    seen: list[tuple[int, int, int]] = []
    for fname, rows in HERO_FRAMES.items():
        save_png(rgb_from_grid(fname, rows, HERO_COLORS, 2), root / fname)
        for row in rows:
            for ch in row:
                if HERO_COLORS[ch] not in seen:
                    seen.append(HERO_COLORS[ch])
    assert (0, 0, 0) not in seen and len(seen) <= 15
    for c in seen:
        check_rgb565_exact(c)
    write_json(
        root / "asset.json",
        glyph_asset_json(UUID_HERO_32, "hero_32", list(HERO_FRAMES), 32, {"enabled": False}),
    )


# --------------------------------------------------------------------------- audio DSP

SINE_BITS = 10
SINE_SIZE = 1 << SINE_BITS
# Rounded integer sine table, amplitude 32767.
SINE = [int(round(32767 * math.sin(2 * math.pi * i / SINE_SIZE))) for i in range(SINE_SIZE)]
PHASE_BITS = 32
PHASE_MASK = (1 << PHASE_BITS) - 1


def phase_inc(freq_milli_hz: int, rate: int) -> int:
    """32-bit phase increment for a frequency given in milli-Hertz."""
    return (freq_milli_hz << PHASE_BITS) // (rate * 1000)


def sine_at(phase: int) -> int:
    return SINE[phase >> (PHASE_BITS - SINE_BITS)]


def square_at(phase: int) -> int:
    return 32767 if phase < (1 << (PHASE_BITS - 1)) else -32767


def triangle_at(phase: int) -> int:
    # -32767 .. 32767 .. -32767 over one period
    p = phase >> (PHASE_BITS - 16)  # 0..65535
    v = p * 2 if p < 32768 else (65535 - p) * 2
    return v - 32767


def clamp16(v: int) -> int:
    return -32768 if v < -32768 else 32767 if v > 32767 else v


def write_wav(path: Path, rate: int, sampwidth: int, channels: int, frames: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sampwidth)
        w.setframerate(rate)
        w.writeframes(frames)


def synth_jump() -> bytes:
    """Rising chirp 330 Hz -> 990 Hz, square+sine blend, linear fade-out. 16-bit mono 22050 Hz."""
    rate = 22050
    n = rate * 15 // 100  # 0.15 s -> 3307 frames
    out = bytearray()
    phase = 0
    for i in range(n):
        freq_mhz = 330_000 + (660_000 * i) // n
        phase = (phase + phase_inc(freq_mhz, rate)) & PHASE_MASK
        tone = (sine_at(phase) * 3 + square_at(phase)) // 4
        attack = min(i, 110)  # ~5 ms attack
        env = (attack * (n - i)) // 110  # 0..n
        v = (tone * env) // n * 6 // 10
        out += struct.pack("<h", clamp16(v))
    return bytes(out)


def synth_coin() -> bytes:
    """Two-tone 'ding' (B5 then E6), square wave with decay. 8-bit unsigned mono 11025 Hz."""
    rate = 11025
    first = rate * 8 // 100  # 80 ms
    n = rate * 35 // 100  # 0.35 s total
    out = bytearray()
    phase = 0
    for i in range(n):
        freq_mhz = 987_767 if i < first else 1_318_510
        phase = (phase + phase_inc(freq_mhz, rate)) & PHASE_MASK
        tone = square_at(phase)
        if i < first:
            env = 1000 * min(i, 33) // 33  # 3 ms attack, avoids a click
        else:
            k = i - first
            env = 1000 * (n - first - k) // (n - first)
            env = env * env // 1000  # quadratic decay
        v = tone * env // 1000 * 45 // 100  # -> about +/-14745
        u8 = 128 + (v >> 8)
        out.append(max(0, min(255, u8)))
    return bytes(out)


def synth_explosion() -> bytes:
    """Seeded LCG noise through a one-pole low-pass with a decaying envelope.

    16-bit stereo 22050 Hz, ~0.6 s; the two channels use separately seeded generators.
    """
    rate = 22050
    n = rate * 6 // 10
    seeds = [0x1234ABCD, 0x0BADF00D]
    lp = [0, 0]
    out = bytearray()
    for i in range(n):
        # envelope: fast attack (2 ms) then quadratic decay
        rest = n - i
        env = rest * rest // n  # n..0
        if i < 44:
            env = env * i // 44
        frame = []
        for ch in range(2):
            seeds[ch] = (seeds[ch] * 1664525 + 1013904223) & 0xFFFFFFFF
            noise = (seeds[ch] >> 16) - 32768  # -32768..32767
            # low-pass gets darker as the sound dies away (cutoff shift 2 -> 5)
            shift = 2 + (3 * i) // n
            lp[ch] += (noise - lp[ch]) >> shift
            frame.append(clamp16(lp[ch] * env // n * 9 // 10))
        out += struct.pack("<hh", *frame)
    return bytes(out)


def synth_loop() -> tuple[bytes, int]:
    """One-second melodic loop: 8 eighth notes at 120 BPM over a bass line.

    16-bit mono 16000 Hz, 16000 frames; every note fades to silence so the loop is seamless.
    """
    rate = 16000
    note_len = rate // 8  # 2000 frames
    # milli-Hz: C5 E5 G5 E5 A5 G5 E5 D5  over  C3 C3 G2 G2 A2 A2 G2 G2
    melody = [523_251, 659_255, 783_991, 659_255, 880_000, 783_991, 659_255, 587_330]
    bass = [130_813, 130_813, 97_999, 97_999, 110_000, 110_000, 97_999, 97_999]
    out = bytearray()
    for note in range(8):
        pm = 0
        pb = 0
        im = phase_inc(melody[note], rate)
        ib = phase_inc(bass[note], rate)
        for k in range(note_len):
            pm = (pm + im) & PHASE_MASK
            pb = (pb + ib) & PHASE_MASK
            attack = min(k, 40)
            env = attack * (note_len - k) // 40  # 0..note_len, ends at 0
            lead = (triangle_at(pm) * 3 + sine_at(pm)) // 4
            low = triangle_at(pb)
            v = (lead * 5 + low * 3) // 10
            out += struct.pack("<h", clamp16(v * env // note_len * 7 // 10))
    frames = 8 * note_len
    return bytes(out), frames


# --------------------------------------------------------------------------- 4./5. sound banks


def make_sfx_basic() -> None:
    root = ASSETS / "sfx" / "basic"
    write_wav(root / "jump.wav", 22050, 2, 1, synth_jump())
    write_wav(root / "coin.wav", 11025, 1, 1, synth_coin())
    write_wav(root / "explosion.wav", 22050, 2, 2, synth_explosion())
    artifacts = [{"file": "jump.wav"}, {"file": "coin.wav"}, {"file": "explosion.wav"}]
    write_json(
        root / "asset.json",
        sound_asset_json(UUID_SFX_BASIC, "basic", artifacts, {"enabled": True}),
    )


def make_music_loop() -> None:
    root = ASSETS / "music" / "loop"
    pcm, frames = synth_loop()
    write_wav(root / "loop.wav", 16000, 2, 1, pcm)
    artifacts = [{"file": "loop.wav", "loop_start": 0, "loop_end": frames}]
    write_json(
        root / "asset.json",
        sound_asset_json(UUID_MUSIC_LOOP, "loop", artifacts, {"enabled": False}),
    )


# --------------------------------------------------------------------------- unregistered example

POTION = [
    "................",
    "......OOOO......",
    "......OSSO......",
    ".......OO.......",
    "......OWWO......",
    ".....OWWWWO.....",
    "....OWPPPPWO....",
    "...OWPPLPPPWO...",
    "...OWPLPPPPWO...",
    "...OWPPPPPPWO...",
    "...OWPPPPPDWO...",
    "....OWPPPDWO....",
    ".....OWWWWO.....",
    "......OOOO......",
    "................",
    "................",
]
POTION_COLORS = {
    "O": (24, 16, 32),
    "S": (152, 100, 48),  # cork
    "W": (192, 196, 200),  # glass
    "P": (144, 64, 200),  # potion
    "L": (216, 168, 248),  # shine
    "D": (88, 32, 136),  # shade
}


def make_unused_idea() -> None:
    root = ASSETS / "wip" / "unused_idea"
    for c in POTION_COLORS.values():
        check_rgb565_exact(c)
    save_png(rgba_from_grid("potion.png", POTION, POTION_COLORS), root / "potion.png")
    write_json(
        root / "asset.json",
        glyph_asset_json(UUID_UNUSED_IDEA, "unused_idea", ["potion.png"], 16, {"enabled": False}),
    )


# --------------------------------------------------------------------------- registry


def make_registry() -> None:
    entries = [
        (UUID_HUD_ICONS, "ui/hud_icons"),
        (UUID_TILES_8, "world/tiles_8"),
        (UUID_HERO_32, "chars/hero_32"),
        (UUID_SFX_BASIC, "sfx/basic"),
        (UUID_MUSIC_LOOP, "music/loop"),
    ]
    # wip/unused_idea is intentionally NOT registered (the "unregistered" example).
    registry = {
        "assets": [
            {"asset_id": i, "asset_uuid": u, "included_in_build": True, "root": r}
            for i, (u, r) in enumerate(entries, start=1)
        ],
        "next_asset_id": len(entries) + 1,
        "schema_version": 1,
    }
    write_json(ASSETS / ".prometeu" / "index.json", registry)


def main() -> None:
    make_hud_icons()
    make_tiles_8()
    make_hero_32()
    make_sfx_basic()
    make_music_loop()
    make_unused_idea()
    make_registry()
    print(f"wrote assets under {ASSETS}")


if __name__ == "__main__":
    main()
