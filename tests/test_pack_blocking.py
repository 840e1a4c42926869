"""Every blocking case of SPEC §4-§5: `validate --json` and `pack --json` name the diagnostic
(exit 1, status blocked) and a blocked pack leaves the previous build/ byte-for-byte and
mtime-for-mtime untouched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import uuid
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_json
from conftest import glyph_decl as base_glyph_decl
from conftest import sound_decl as base_sound_decl
from PIL import Image

PAL0 = ["#000000", "#ff0000", "#00ff00", "#0000ff"]
RGBA = {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255), 3: (0, 0, 255, 255)}


# -- building blocks -------------------------------------------------------------------------


def png(
    path: Path,
    size: int | tuple[int, int] = 8,
    pixel: Callable[..., Any] | None = None,
    mode: str = "RGBA",
) -> Path:
    w, h = (size, size) if isinstance(size, int) else size
    pixel = pixel or (lambda x, y: RGBA[(x + y) % 4])
    img = Image.new(mode, (w, h))
    img.putdata([pixel(x, y) for y in range(h) for x in range(w)])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path


def indexed_png(path: Path, palette: list[tuple[int, int, int]], index: Callable[..., int]) -> Path:
    img = Image.new("P", (8, 8))
    flat = [c for rgb in palette for c in rgb]
    img.putpalette(flat + [0] * (768 - len(flat)))
    img.putdata([index(x, y) for y in range(8) for x in range(8)])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path


def wav(path: Path, frames: int = 8, rate: int = 22050) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{frames}h", *(i * 300 - 1000 for i in range(frames))))
    return path


def raw_wav(path: Path, tag: int, channels: int, rate: int, bits: int, data: bytes) -> Path:
    """A RIFF/WAVE file with exactly the given fmt fields (for encodings `wave` refuses)."""
    align = channels * max(1, bits // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) & 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def glyph_decl(
    files: list[str],
    *,
    tile_size: int = 8,
    palettes: Any = None,
    preload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    decl = base_glyph_decl(str(uuid.uuid4()), "g", files, tile_size)
    if palettes is not None:
        decl["output"]["pipeline"] = {"palettes": palettes}
    if preload:
        decl["preload"] = preload
    return decl


def sound_decl(files: list[str], *, preload: dict[str, Any] | None = None) -> dict[str, Any]:
    decl = base_sound_decl(str(uuid.uuid4()), "s", files)
    if preload:
        decl["preload"] = preload
    return decl


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, sort_keys=True, indent=2) + "\n", "utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def add_asset(project: Path, root: str, decl: dict[str, Any]) -> int:
    """Write `asset.json` and register it (included); returns the new asset_id."""
    write_json(project / "assets" / root / "asset.json", decl)
    reg_path = project / "assets/.prometeu/index.json"
    reg = read_json(reg_path)
    aid: int = reg["next_asset_id"]
    reg["assets"].append(
        {"asset_id": aid, "asset_uuid": decl["asset_uuid"], "included_in_build": True, "root": root}
    )
    reg["next_asset_id"] = aid + 1
    write_json(reg_path, reg)
    return aid


def edit(project: Path, root: str, fn: Callable[[dict[str, Any]], None]) -> None:
    path = project / "assets" / root / "asset.json"
    d = read_json(path)
    fn(d)
    write_json(path, d)


GLYPH = "ui/glyphs"  # asset 1: declared palette, RGBA tiles, preload slot 0
DERIVED = "ui/derived"  # asset 2: no palette (derived), RGB tiles, preload auto
SOUND = "sfx/beeps"  # asset 3: two 16-bit mono WAVs, preload auto


def make_base(project: Path) -> None:
    write_json(
        project / "assets/.prometeu/index.json",
        {"assets": [], "next_asset_id": 1, "schema_version": 1},
    )
    g = project / "assets" / GLYPH
    png(g / "a.png")
    png(g / "b.png", pixel=lambda x, y: RGBA[(x * y) % 4])
    add_asset(
        project,
        GLYPH,
        glyph_decl(
            ["a.png", "b.png"],
            palettes=[{"index": 0, "palette": {"colors": PAL0}}],
            preload={"enabled": True, "slot": 0},
        ),
    )
    d = project / "assets" / DERIVED
    png(d / "r.png", mode="RGB", pixel=lambda x, y: ((x % 2) * 128, (y % 2) * 128, 64))
    add_asset(project, DERIVED, glyph_decl(["r.png"], preload={"enabled": True}))
    s = project / "assets" / SOUND
    wav(s / "one.wav")
    wav(s / "two.wav", frames=5, rate=11025)
    add_asset(project, SOUND, sound_decl(["one.wav", "two.wav"], preload={"enabled": True}))


def tree_state(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under `folder` with its kind, size, content hash and mtime_ns."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            out[str(p.relative_to(folder))] = (
                p.is_dir(),
                st.st_size if digest else 0,
                digest,
                st.st_mtime_ns,
            )
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("blocking") / "good"
    make_base(project)
    code, result = cli_json(project, "pack")
    assert code == 0 and result["status"] == "success", result
    assert result["packed_assets"] == 3
    return project


# -- the cases: (mutation, asset_id blamed, accepted codes) ---------------------------------


def tile_size_invalid(p: Path) -> None:
    edit(p, GLYPH, lambda d: d["output"]["metadata"].update(tile_size=12))


def tile_wrong_dimensions(p: Path) -> None:
    png(p / "assets" / GLYPH / "b.png", size=(9, 8))


def color_not_in_palette(p: Path) -> None:
    png(
        p / "assets" / GLYPH / "b.png",
        pixel=lambda x, y: (0x12, 0x34, 0x56, 255) if (x, y) == (2, 3) else RGBA[0],
    )


def indexed_index_too_big(p: Path) -> None:
    pal = [(i * 10, i * 5, i) for i in range(20)]
    indexed_png(p / "assets" / DERIVED / "r.png", pal, lambda x, y: 17 if x == 4 else 1)


def too_many_palette_colors(p: Path) -> None:
    colors = [f"#{i * 8:02x}0000" for i in range(17)]
    edit(
        p, GLYPH, lambda d: d["output"]["pipeline"]["palettes"][0]["palette"].update(colors=colors)
    )


def duplicate_palette_index(p: Path) -> None:
    edit(
        p,
        GLYPH,
        lambda d: d["output"]["pipeline"]["palettes"].append(
            {"index": 0, "palette": {"colors": ["#ffffff"]}}
        ),
    )


def palette_index_out_of_range(p: Path) -> None:
    edit(
        p,
        GLYPH,
        lambda d: d["output"]["pipeline"]["palettes"].append(
            {"index": 64, "palette": {"colors": ["#ffffff"]}}
        ),
    )


def too_many_palettes(p: Path) -> None:
    pals = [{"index": i, "palette": {"colors": PAL0}} for i in range(65)]
    edit(p, GLYPH, lambda d: d["output"]["pipeline"].update(palettes=pals))


def derived_palette_overflow(p: Path) -> None:
    # 16 distinct opaque colours besides black (R = 8..128 step 8: distinct in RGB565)
    png(
        p / "assets" / DERIVED / "r.png",
        mode="RGB",
        pixel=lambda x, y: ((y * 8 + x + 1) * 8, 0, 0) if y * 8 + x < 16 else (0, 0, 0),
    )


def indexed_palette_conflict(p: Path) -> None:
    root = p / "assets" / DERIVED
    indexed_png(root / "r.png", [(0, 0, 0), (255, 0, 0)], lambda x, y: (x + y) % 2)
    indexed_png(root / "q.png", [(0, 0, 0), (0, 255, 0)], lambda x, y: (x * y) % 2)

    def two(d: dict[str, Any]) -> None:
        d["inputs"]["tiles"] = ["r.png", "q.png"]
        d["artifacts"] = [{"index": 0, "file": "r.png"}, {"index": 1, "file": "q.png"}]

    edit(p, DERIVED, two)


def over_capacity(p: Path) -> None:
    root = p / "assets" / DERIVED
    data = png(root / "t00.png", size=32).read_bytes()
    files = [f"t{i:02d}.png" for i in range(65)]
    for f in files[1:]:
        (root / f).write_bytes(data)

    def big(d: dict[str, Any]) -> None:
        d["output"]["metadata"]["tile_size"] = 32
        d["inputs"]["tiles"] = files
        d["artifacts"] = [{"index": i, "file": f} for i, f in enumerate(files)]

    edit(p, DERIVED, big)


def index_gap(p: Path) -> None:
    edit(p, GLYPH, lambda d: d["artifacts"][1].update(index=2))


def index_duplicate(p: Path) -> None:
    edit(p, GLYPH, lambda d: d["artifacts"][1].update(index=0))


def garbage_png(p: Path) -> None:
    (p / "assets" / GLYPH / "b.png").write_bytes(b"this is not a PNG at all\x00\xff" * 10)


def truncated_png(p: Path) -> None:
    path = p / "assets" / GLYPH / "b.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def wav_float(p: Path) -> None:
    raw_wav(p / "assets" / SOUND / "two.wav", 3, 1, 22050, 32, struct.pack("<4f", 0, 0.5, -0.5, 1))


def wav_empty_data(p: Path) -> None:
    raw_wav(p / "assets" / SOUND / "two.wav", 1, 1, 22050, 16, b"")


def wav_zero_bytes(p: Path) -> None:
    (p / "assets" / SOUND / "two.wav").write_bytes(b"")


def wav_rate_low(p: Path) -> None:
    wav(p / "assets" / SOUND / "two.wav", rate=7999)


def wav_rate_high(p: Path) -> None:
    wav(p / "assets" / SOUND / "two.wav", rate=48001)


def wav_bit_depth(p: Path) -> None:
    raw_wav(p / "assets" / SOUND / "two.wav", 1, 1, 22050, 12, b"\x00\x01" * 4)


def loop_inverted(p: Path) -> None:
    edit(p, SOUND, lambda d: d["artifacts"][0].update(loop_start=5, loop_end=2))


def loop_past_end(p: Path) -> None:
    edit(p, SOUND, lambda d: d["artifacts"][1].update(loop_start=0, loop_end=6))  # 5 frames


def preload_slot_clash(p: Path) -> None:
    edit(p, DERIVED, lambda d: d["preload"].update(slot=0))  # asset 1 holds GLYPH slot 0


def preload_overflow(p: Path) -> None:
    for i in range(16):  # with asset 3, 17 SOUNDS preloads
        wav(p / "assets" / f"sfx/extra{i:02d}" / "x.wav", frames=2)
        add_asset(p, f"sfx/extra{i:02d}", sound_decl(["x.wav"], preload={"enabled": True}))


def float_in_metadata(p: Path) -> None:
    edit(p, GLYPH, lambda d: d["output"]["metadata"].update(scale=1.5))


CASES: list[tuple[Callable[[Path], None], int | None, set[str]]] = [
    (tile_size_invalid, 1, {"glyph.tile_size_invalid"}),
    (tile_wrong_dimensions, 1, {"glyph.tile_dimensions"}),
    (color_not_in_palette, 1, {"glyph.color_not_in_palette"}),
    (indexed_index_too_big, 2, {"glyph.index_out_of_range"}),
    (too_many_palette_colors, 1, {"glyph.palette_too_many_colors"}),
    (duplicate_palette_index, 1, {"glyph.palette_index_duplicate"}),
    (palette_index_out_of_range, 1, {"glyph.palette_index_out_of_range"}),
    (too_many_palettes, 1, {"glyph.palette_count_exceeded"}),
    (derived_palette_overflow, 2, {"glyph.derived_palette_overflow"}),
    (indexed_palette_conflict, 2, {"glyph.indexed_palette_conflict"}),
    (over_capacity, 2, {"artifact.over_capacity"}),
    (index_gap, 1, {"artifact.index_gap"}),
    (index_duplicate, 1, {"artifact.index_duplicate"}),
    (garbage_png, 1, {"glyph.png_unreadable"}),
    (truncated_png, 1, {"glyph.png_unreadable"}),
    (wav_float, 3, {"sound.not_pcm"}),
    (wav_empty_data, 3, {"sound.empty"}),
    (wav_zero_bytes, 3, {"sound.empty", "sound.wav_unreadable"}),
    (wav_rate_low, 3, {"sound.sample_rate_out_of_range"}),
    (wav_rate_high, 3, {"sound.sample_rate_out_of_range"}),
    (wav_bit_depth, 3, {"sound.bit_depth_unsupported"}),
    (loop_inverted, 3, {"sound.loop_invalid"}),
    (loop_past_end, 3, {"sound.loop_out_of_range", "sound.loop_invalid"}),
    (preload_slot_clash, 2, {"preload.slot_clash"}),
    (preload_overflow, 19, {"preload.slot_overflow"}),
    (float_in_metadata, 1, {"metadata.float"}),
]


@pytest.mark.parametrize(("mutate", "asset_id", "codes"), CASES, ids=[c[0].__name__ for c in CASES])
def test_blocking_case(
    template: Path,
    tmp_path: Path,
    mutate: Callable[[Path], None],
    asset_id: int | None,
    codes: set[str],
) -> None:
    project = tmp_path / "game"
    shutil.copytree(template, project, symlinks=True)
    before = tree_state(project / "build")
    assert "assets.pa" in before

    mutate(project)
    code, result = cli_json(project, "validate")
    pack_code, pack_result = cli_json(project, "pack")

    assert code == 1, result
    assert result["status"] == "blocked" and result["green"] is False
    found = {d["code"] for d in result["diagnostics"]}
    assert found & codes, f"validate: expected one of {codes}, got {found}"
    assert all(d["blocking"] for d in result["blockers"])
    rows = {row["asset_id"]: row for row in result["assets"]}
    assert asset_id in rows, f"asset {asset_id} not reported: {sorted(rows, key=str)}"
    row_codes = {d["code"] for d in rows[asset_id]["diagnostics"]}
    assert row_codes & codes, f"asset {asset_id} row has {row_codes}"
    reg = {
        a["asset_id"]: a["root"]
        for a in read_json(project / "assets/.prometeu/index.json")["assets"]
    }
    assert rows[asset_id]["root"] == reg[asset_id]
    assert isinstance(rows[asset_id]["last_modified"], int)

    assert pack_code == 1, pack_result
    assert pack_result["status"] == "blocked"
    assert pack_result["failure_stage"] is None
    pack_codes = {d["code"] for d in pack_result["blockers"]}
    assert pack_codes & codes, f"pack: expected one of {codes}, got {pack_codes}"
    assert pack_result["assets_pa"] is None and pack_result["packed_assets"] == 0

    assert tree_state(project / "build") == before, "a blocked pack touched build/"


def test_color_diagnostic_names_file_and_pixel(template: Path, tmp_path: Path) -> None:
    project = tmp_path / "game"
    shutil.copytree(template, project, symlinks=True)
    color_not_in_palette(project)
    _, result = cli_json(project, "validate")
    diag = next(d for d in result["diagnostics"] if d["code"] == "glyph.color_not_in_palette")
    assert diag["path"] == "b.png"
    assert diag["asset_id"] == 1 and diag["asset_root"] == GLYPH
    assert "b.png" in diag["message"] and "(2, 3)" in diag["message"]
    assert "#123456" in diag["message"]


def test_fixing_the_problem_unblocks(template: Path, tmp_path: Path) -> None:
    """The cases block because of the mutation, not because of the fixture."""
    project = tmp_path / "game"
    shutil.copytree(template, project, symlinks=True)
    code, result = cli_json(project, "validate")
    assert code == 0 and result["green"] is True, result
    preload_overflow(project)
    edit(project, "sfx/extra15", lambda d: d["preload"].update(enabled=False))  # 16 again
    code, result = cli_json(project, "pack")
    assert code == 0, result
    assert result["packed_assets"] == 19
