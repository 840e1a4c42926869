"""Byte-exact golden `assets.pa` for a tiny generated project, and determinism of the bytes
across runs, folders, listing/declaration order, cache on/off and full vs incremental."""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import OUTPUTS, cli_json
from independent_reader import read_pa
from PIL import Image

from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.settings import CacheConfig

UUID_SOUND = "0b6f0c1e-3d2a-4e55-9f1a-1c2d3e4f5a6b"
UUID_GLYPH = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
PAL0 = ["#000000", "#ff0000", "#00ff00", "#0000ff", "#f80000"]
PAL1 = ["#ffffff"]
OPAQUE = {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255), 3: (0, 0, 255, 255)}


# -- the fixture project ---------------------------------------------------------------------


def tile_a(x: int, y: int) -> tuple[tuple[int, int, int, int], int]:
    """(RGBA written to the PNG, colour index the SPEC says it maps to)."""
    if (x, y) == (7, 7):
        return (255, 255, 255, 0), 0  # fully transparent → index 0 whatever its colour
    if (x, y) == (3, 0):
        return (0xF8, 0x00, 0x00, 255), 1  # RGB565 0xF800: first match is #ff0000 (1), not 4
    if (x, y) == (5, 1):
        return (0x07, 0xFF, 0x03, 255), 2  # RGB565 0x07E0 == #00ff00
    i = (x + 2 * y) % 4
    return OPAQUE[i], i


def tile_b(x: int, y: int) -> tuple[tuple[int, int, int, int], int]:
    if (x, y) == (0, 0):
        return (0xFF, 0x03, 0x07, 255), 1  # RGB565 0xF800
    i = (x * y + x) % 4
    return OPAQUE[i], i


def write_png(path: Path, fn: Any) -> None:
    img = Image.new("RGBA", (8, 8))
    img.putdata([fn(x, y)[0] for y in range(8) for x in range(8)])
    img.save(path, format="PNG")


def write_wav(path: Path, channels: int, width: int, rate: int, frames: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


BEEP_VALUES = [0, 1000, -1000, 32767]
BLIP_FRAMES = bytes([0, 255, 128, 128, 128, 129, 200, 10, 60])  # 8-bit unsigned, 3 channels


def sound_decl() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "asset_uuid": UUID_SOUND,
        "name": "beeps",
        "type": "sound_bank",
        "inputs": {"samples": ["beep.wav", "blip.wav"]},
        "artifacts": [
            {"index": 0, "file": "beep.wav", "loop_start": 1, "loop_end": 4},
            {"index": 1, "file": "blip.wav"},
        ],
        "output": {"format": "SOUNDS/pcm16le_v1", "codec": "NONE", "metadata": {}, "pipeline": {}},
        "preload": {"enabled": True, "slot": 3},
    }


def glyph_decl() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "asset_uuid": UUID_GLYPH,
        "name": "tiles_ñ",
        "type": "glyph_bank",
        "inputs": {"tiles": ["a.png", "b.png"]},
        "artifacts": [{"index": 0, "file": "a.png"}, {"index": 1, "file": "b.png"}],
        "output": {
            "format": "GLYPH/indexed_v1",
            "codec": "NONE",
            "metadata": {"tile_size": 8},
            "pipeline": {
                "palettes": [
                    {"index": 0, "palette": {"colors": PAL0}},
                    {"index": 1, "palette": {"colors": PAL1}},
                ]
            },
        },
        "preload": {"enabled": True},
    }


def registry() -> dict[str, Any]:
    return {
        "assets": [
            {
                "asset_id": 1,
                "asset_uuid": UUID_SOUND,
                "included_in_build": True,
                "root": "sfx/beeps",
            },
            {
                "asset_id": 2,
                "asset_uuid": UUID_GLYPH,
                "included_in_build": True,
                "root": "ui/tiles",
            },
        ],
        "next_asset_id": 3,
        "schema_version": 1,
    }


def reverse_keys(value: Any) -> Any:
    """Same JSON value, object keys in reverse-sorted order at every depth."""
    if isinstance(value, dict):
        return {k: reverse_keys(value[k]) for k in sorted(value, reverse=True)}
    if isinstance(value, list):
        return [reverse_keys(v) for v in value]
    return value


def dump(path: Path, value: Any, *, canonical: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if canonical:
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    else:
        text = json.dumps(reverse_keys(value), ensure_ascii=False)
    path.write_text(text, "utf-8")


def make_project(root: Path, *, shuffled: bool = False) -> Path:
    """The fixture project; `shuffled` changes only non-semantic order: JSON key order,
    registry entry order, `inputs` list order, `artifacts` list order, file creation order."""
    snd, gly, reg = sound_decl(), glyph_decl(), registry()
    if shuffled:
        for d in (snd, gly):
            d["inputs"] = {k: list(reversed(v)) for k, v in d["inputs"].items()}
            d["artifacts"] = list(reversed(d["artifacts"]))
        reg["assets"] = list(reversed(reg["assets"]))
    (root / "assets/sfx/beeps").mkdir(parents=True)
    (root / "assets/ui/tiles").mkdir(parents=True)
    writers: list[Callable[[], None]] = [
        lambda: write_wav(
            root / "assets/sfx/beeps/beep.wav", 1, 2, 22050, struct.pack("<4h", *BEEP_VALUES)
        ),
        lambda: write_wav(root / "assets/sfx/beeps/blip.wav", 3, 1, 11025, BLIP_FRAMES),
        lambda: write_png(root / "assets/ui/tiles/a.png", tile_a),
        lambda: write_png(root / "assets/ui/tiles/b.png", tile_b),
        lambda: dump(root / "assets/sfx/beeps/asset.json", snd, canonical=not shuffled),
        lambda: dump(root / "assets/ui/tiles/asset.json", gly, canonical=not shuffled),
        lambda: dump(root / "assets/.prometeu/index.json", reg, canonical=not shuffled),
    ]
    for w in reversed(writers) if shuffled else writers:
        w()
    return root


# -- the expected bytes, by hand ---------------------------------------------------------------

HEADER = (
    '{"asset_table":['
    '{"asset_id":1,"asset_name":"beeps","bank_type":"SOUNDS","codec":"NONE",'
    '"decoded_size":14,"metadata":{"channels":1,"sample_count":2,"samples":{'
    '"0":{"frames":4,"loop_end":4,"loop_start":1,"offset":0,"sample_rate":22050},'
    '"1":{"frames":3,"offset":8,"sample_rate":11025}}},"offset":0,"size":14},'
    '{"asset_id":2,"asset_name":"tiles_ñ","bank_type":"GLYPH","codec":"NONE",'
    '"decoded_size":67584,"metadata":{"height":256,"palette_authored":2,"palette_count":64,'
    '"tile_count":2,"tile_size":8,"width":256},"offset":16,"size":34816}],'
    '"preload":[{"asset_id":1,"slot":3},{"asset_id":2,"slot":0}]}'
)


def expected_sound_payload() -> bytes:
    beep = struct.pack("<4h", 0, 1000, -1000, 32767)
    # 8-bit unsigned → (v - 128) << 8, then the floor of the mean of the three channels:
    # (0, 255, 128)   → (-32768 + 32512 + 0) // 3 = -256 // 3 = -86 (truncation gives -85)
    # (128, 128, 129) → (0 + 0 + 256) // 3 = 85
    # (200, 10, 60)   → (18432 - 30208 - 17408) // 3 = -29184 // 3 = -9728
    blip = struct.pack("<3h", -86, 85, -9728)
    return beep + blip


def expected_glyph_payload() -> bytes:
    sheet = [[0] * 256 for _ in range(256)]
    for y in range(8):
        for x in range(8):
            sheet[y][x] = tile_a(x, y)[1]  # tile 0: column 0, row 0
            sheet[y][8 + x] = tile_b(x, y)[1]  # tile 1: column 1, row 0
    pixels = bytes((row[x] << 4) | row[x + 1] for row in sheet for x in range(0, 256, 2))
    words = [0] * 1024
    words[0:5] = [0x0000, 0xF800, 0x07E0, 0x001F, 0xF800]  # palette 0
    words[16] = 0xFFFF  # palette 1, entry 0
    return pixels + struct.pack("<1024H", *words)


def expected_assets_pa() -> bytes:
    header = HEADER.encode("utf-8")
    payload_offset = (24 + len(header) + 15) // 16 * 16
    prelude = b"PMPA" + struct.pack("<5I", 1, 0, 0, len(header), payload_offset)
    sound, glyph = expected_sound_payload(), expected_glyph_payload()
    return (
        prelude
        + header
        + bytes(payload_offset - 24 - len(header))
        + sound
        + bytes(16 - len(sound))  # the glyph payload starts at offset 16
        + glyph
    )


# -- helpers -------------------------------------------------------------------------------------


def pack_cli(project: Path) -> dict[str, Any]:
    code, result = cli_json(project, "pack")
    assert code == 0 and result["status"] == "success", result
    return result


def outputs(project: Path) -> dict[str, bytes]:
    build = project / "build"
    assert sorted(p.name for p in build.iterdir()) == sorted(OUTPUTS)
    return {n: (build / n).read_bytes() for n in OUTPUTS}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "game")


# -- tests ---------------------------------------------------------------------------------------


def test_expected_bytes_are_self_consistent() -> None:
    """The hand-made golden passes the independent reader (guards the oracle)."""
    pa = read_pa(expected_assets_pa())
    assert pa.header_bytes == HEADER.encode()
    assert "ñ".encode() in pa.header_bytes  # non-ASCII kept as UTF-8, not \\u-escaped
    assert pa.payload_offset % 16 == 0 and pa.payload_offset > 24 + pa.header_len - 16


def test_golden_bytes(project: Path) -> None:
    result = pack_cli(project)
    assert result["packed_assets"] == 2
    got = outputs(project)
    want = expected_assets_pa()
    if got["assets.pa"] != want:
        a, b = got["assets.pa"], want
        first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        pytest.fail(
            f"assets.pa differs at byte {first} (got {len(a)} bytes, want {len(b)}); "
            f"got {a[first : first + 16].hex()} want {b[first : first + 16].hex()}"
        )
    header = json.loads(HEADER)
    assert (
        got["asset_table.json"]
        == (
            json.dumps(header["asset_table"], sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        ).encode()
    )
    assert got["preload.json"] == (
        b'[\n  {\n    "asset_id": 1,\n    "slot": 3\n  },\n'
        b'  {\n    "asset_id": 2,\n    "slot": 0\n  }\n]\n'
    )


def test_same_bytes_across_runs_and_cache_states(project: Path, tmp_path: Path) -> None:
    first = pack_cli(project)
    assert first["cache_misses"] == 2
    a = outputs(project)
    second = pack_cli(project)  # build/ already holds this build: nothing is redone
    assert (second["cache_hits"], second["cache_misses"], second["published"]) == (0, 0, False)
    assert outputs(project) == a
    shutil.rmtree(project / "build")  # a fresh checkout with the cache: every asset hits
    third = pack_cli(project)
    assert (third["cache_hits"], third["cache_misses"]) == (2, 0)
    assert outputs(project) == a
    # without any cache (in process), into a fresh build/
    shutil.rmtree(project / "build")
    result = PackerService(Project(project), cache=CacheConfig(None)).pack()
    assert result.status.value == "success", result.summary
    assert (result.cache_hits, result.cache_misses) == (0, 2)
    assert outputs(project) == a
    assert a["assets.pa"] == expected_assets_pa()


def test_same_bytes_in_another_folder(project: Path, tmp_path: Path) -> None:
    pack_cli(project)
    a = outputs(project)
    other = tmp_path / "elsewhere" / "a much longer folder name" / "game copy"
    shutil.copytree(
        project,
        other,
        ignore=shutil.ignore_patterns("build", ".prometeu-cache", ".digests.sqlite*"),
    )
    pack_cli(other)
    assert outputs(other) == a
    # and via a cache restored from the first folder (CI restoring the cache dir)
    shutil.rmtree(other / "build")
    shutil.rmtree(other / ".prometeu-cache")
    shutil.copytree(project / ".prometeu-cache", other / ".prometeu-cache")
    result = pack_cli(other)
    assert result["cache_hits"] == 2
    assert outputs(other) == a


def test_same_bytes_whatever_the_declaration_order(project: Path, tmp_path: Path) -> None:
    pack_cli(project)
    a = outputs(project)
    shuffled = make_project(tmp_path / "shuffled", shuffled=True)
    decl = json.loads((shuffled / "assets/ui/tiles/asset.json").read_text("utf-8"))
    assert [x["index"] for x in decl["artifacts"]] == [1, 0]  # the shuffle really happened
    assert next(iter(decl)) == "type"
    pack_cli(shuffled)
    assert outputs(shuffled) == a


def test_incremental_equals_clean_build(project: Path, tmp_path: Path) -> None:
    pack_cli(project)
    before = outputs(project)
    # edit tile b: pixel (1, 1) becomes blue (index 3); the sound bank is unchanged
    img = Image.open(project / "assets/ui/tiles/b.png").convert("RGBA")
    img.putpixel((1, 1), (0, 0, 255, 255))
    img.save(project / "assets/ui/tiles/b.png", format="PNG")
    inc = pack_cli(project)
    # the sound bank keeps its bytes from the previous build (no cache lookup)
    assert (inc["cache_hits"], inc["cache_misses"], inc["up_to_date"]) == (0, 1, 1)
    incremental = outputs(project)
    assert incremental["assets.pa"] != before["assets.pa"]

    clean = tmp_path / "clean"
    shutil.copytree(
        project,
        clean,
        ignore=shutil.ignore_patterns("build", ".prometeu-cache", ".digests.sqlite*"),
    )
    full = PackerService(Project(clean), cache=CacheConfig(None)).pack()
    assert full.status.value == "success"
    assert outputs(clean) == incremental

    # the only change is the one nibble of pixel (1, 1) of tile 1 at sheet (9, 1)
    want = bytearray(expected_assets_pa())
    pa = read_pa(bytes(want))
    pos = pa.payload_offset + pa.entry(2)["offset"] + (1 * 256 + 9) // 2
    want[pos] = (want[pos] & 0xF0) | 3  # x = 9 is odd: the low nibble
    assert incremental["assets.pa"] == bytes(want)


def test_incremental_sees_same_size_rewrite_with_same_mtime(project: Path) -> None:
    path = project / "assets/sfx/beeps/beep.wav"
    old = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(old, old))  # an old file: its digest is memoized by the first pack
    service = PackerService(Project(project))
    assert service.pack().status.value == "success"
    data = bytearray(path.read_bytes())
    data[-2:] = struct.pack("<h", -5)  # last frame of sample 0: 32767 → -5, same size
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(data)
    os.utime(path, ns=(old, old))  # the rewrite keeps the mtime (e.g. `cp -p`)
    assert service.pack().status.value == "success"
    pa = read_pa((project / "build/assets.pa").read_bytes())
    assert pa.payload(1)[:8] == struct.pack("<4h", 0, 1000, -1000, -5)
