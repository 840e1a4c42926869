"""The real CLI packs a copy of sample_projects/starter; every byte is checked against
expectations derived independently from the source PNG/WAV files and SPEC §4-§5."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import blake3
import pytest
from conftest import STARTER, cli_json, copy_project
from independent_reader import (
    Pa,
    decode_glyph,
    decode_sounds,
    expected_glyph,
    pretty,
    read_pa_file,
    wav_to_mono16,
)
from PIL import Image


def rgb565_to_rgb(word: int) -> tuple[int, int, int]:
    """RGB565 back to 8 bits a channel by bit replication (white stays #ffffff)."""
    r, g, b = (word >> 11) & 0x1F, (word >> 5) & 0x3F, word & 0x1F
    return (r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2)


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(STARTER, tmp_path_factory.mktemp("starter") / "starter")
    code, result = cli_json(project, "pack")
    assert code == 0, result
    return {"project": project, "result": result, "pa": read_pa_file(project / "build/assets.pa")}


def decl(project: Path, root: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((project / "assets" / root / "asset.json").read_text())
    return value


def registry(project: Path) -> dict[int, str]:
    data = json.loads((project / "assets/.prometeu/index.json").read_text("utf-8"))
    return {a["asset_id"]: a["root"] for a in data["assets"] if a["included_in_build"]}


def artifact_bytes(project: Path, root: str) -> list[bytes]:
    arts = sorted(decl(project, root)["artifacts"], key=lambda a: a["index"])
    return [(project / "assets" / root / a["file"]).read_bytes() for a in arts]


def test_pack_result_reports_success(packed: dict[str, Any]) -> None:
    r = packed["result"]
    assert r["status"] == "success"
    assert r["failure_stage"] is None
    assert r["execution_began"] is True
    assert r["packed_assets"] == 5
    assert r["assets_pa"] == "build/assets.pa"
    assert sorted(r["companions"]) == [
        "build/asset_table.json",
        "build/asset_table_metadata.json",
        "build/preload.json",
    ]
    assert r["cache_hits"] + r["cache_misses"] == 5
    assert sorted(a["asset_id"] for a in r["affected_assets"]) == [1, 2, 3, 4, 5]
    build = packed["project"] / "build"
    assert sorted(p.name for p in build.iterdir()) == [
        ".prometeu-build.json",
        "asset_table.json",
        "asset_table_metadata.json",
        "assets.pa",
        "preload.json",
    ]


def test_header_is_canonical_and_complete(packed: dict[str, Any]) -> None:
    pa: Pa = packed["pa"]  # read_pa_file already checked prelude, canonical header, layout
    project = packed["project"]
    roots = registry(project)
    assert [e["asset_id"] for e in pa.asset_table] == [1, 2, 3, 4, 5]
    for e in pa.asset_table:
        d = decl(project, roots[e["asset_id"]])
        assert e["asset_name"] == d["name"]
        assert e["bank_type"] == {"glyph_bank": "GLYPH", "sound_bank": "SOUNDS"}[d["type"]]
        assert e["codec"] == "NONE"
    # the unregistered wip asset never reaches the artifact
    assert "unused_idea" not in pa.header_bytes.decode()
    # header is the 24 bytes after the prelude, the payload region aligned right after it
    assert pa.payload_offset == (24 + pa.header_len + 15) // 16 * 16


def test_preload_slots(packed: dict[str, Any]) -> None:
    pa: Pa = packed["pa"]
    assert pa.preload == [
        {"asset_id": 1, "slot": 0},
        {"asset_id": 2, "slot": 1},
        {"asset_id": 4, "slot": 0},
    ]
    assert pa.preload_by_bank() == {"GLYPH": {1: 0, 2: 1}, "SOUNDS": {4: 0}}


@pytest.mark.parametrize("asset_id", [1, 2, 3])
def test_glyph_tiles_decode_to_source_pixels(packed: dict[str, Any], asset_id: int) -> None:
    project, pa = packed["project"], packed["pa"]
    root = registry(project)[asset_id]
    d = decl(project, root)
    colors = declared_colors(d)
    sources = artifact_bytes(project, root)
    want_tiles, want_palettes = expected_glyph(sources, colors)
    glyph = decode_glyph(pa.entry(asset_id), pa.payload(asset_id))
    assert glyph.tile_size == d["output"]["metadata"]["tile_size"]
    assert glyph.tile_count == len(sources)
    assert glyph.palette_authored == len(want_palettes)
    for i, want in enumerate(want_tiles):
        assert glyph.tile(i) == want, f"{root} tile {i} differs"
    for p in range(64):
        expected = want_palettes[p] if p < len(want_palettes) else [0] * 16
        assert glyph.palettes[p] == expected, f"{root} palette {p}"


def declared_colors(d: dict[str, Any]) -> list[list[str]] | None:
    declared = d["output"]["pipeline"].get("palettes")
    if not declared:
        return None
    ordered = sorted(declared, key=lambda p: p["index"])
    assert [p["index"] for p in ordered] == list(range(len(ordered)))
    return [p["palette"]["colors"] for p in ordered]


def test_glyph_expectations_are_not_trivial(packed: dict[str, Any]) -> None:
    """Guard the oracle: the three assets use the three palette rules (declared palette
    with RGBA tiles, indexed PNGs, derived palette from RGB tiles) and real pixel variety."""
    project = packed["project"]
    modes = {}
    for aid in (1, 2, 3):
        root = registry(project)[aid]
        sources = artifact_bytes(project, root)
        modes[aid] = {Image.open(io.BytesIO(b)).mode for b in sources}
        tiles, palettes = expected_glyph(sources, declared_colors(decl(project, root)))
        assert all(len(set(t)) >= 2 for t in tiles), root
        assert len({c for c in palettes[0] if c}) >= 3, root
    assert modes == {1: {"RGBA"}, 2: {"P"}, 3: {"RGB"}}
    assert declared_colors(decl(project, registry(project)[1])) is not None
    assert declared_colors(decl(project, registry(project)[3])) is None


@pytest.mark.parametrize("asset_id", [4, 5])
def test_sound_samples_decode_to_source_pcm(packed: dict[str, Any], asset_id: int) -> None:
    project, pa = packed["project"], packed["pa"]
    root = registry(project)[asset_id]
    arts = sorted(decl(project, root)["artifacts"], key=lambda a: a["index"])
    samples = decode_sounds(pa.entry(asset_id), pa.payload(asset_id))
    assert sorted(samples) == [a["index"] for a in arts]
    for art in arts:
        pcm, rate = wav_to_mono16((project / "assets" / root / art["file"]).read_bytes())
        got = samples[art["index"]]
        assert got.sample_rate == rate
        assert got.pcm == pcm, f"{root}/{art['file']} PCM differs"
        assert (got.loop_start, got.loop_end) == (art.get("loop_start"), art.get("loop_end"))
    meta = pa.entry(asset_id)["metadata"]
    assert meta["sample_count"] == len(arts)


def test_sound_conversions_cover_8bit_and_stereo(packed: dict[str, Any]) -> None:
    """The starter exercises the 8-bit and stereo conversions; check them against hand
    arithmetic on the first frames so the oracle itself is verified."""
    import wave

    project, pa = packed["project"], packed["pa"]
    samples = decode_sounds(pa.entry(4), pa.payload(4))
    with wave.open(str(project / "assets/sfx/basic/coin.wav")) as w:
        assert (w.getsampwidth(), w.getnchannels()) == (1, 1)
        raw = w.readframes(8)
    assert samples[1].pcm[:8] == [(b - 128) * 256 for b in raw]
    with wave.open(str(project / "assets/sfx/basic/explosion.wav")) as w:
        assert (w.getsampwidth(), w.getnchannels()) == (2, 2)
        raw = w.readframes(w.getnframes())
    import struct

    vals = struct.unpack(f"<{len(raw) // 2}h", raw)
    mono = [(vals[2 * i] + vals[2 * i + 1]) // 2 for i in range(len(vals) // 2)]
    assert samples[2].pcm == mono
    assert any(
        (vals[2 * i] + vals[2 * i + 1]) % 2 and vals[2 * i] + vals[2 * i + 1] < 0
        for i in range(len(vals) // 2)
    ), "no negative odd sums: floor not exercised"


def test_companions_match_header(packed: dict[str, Any]) -> None:
    build, pa = packed["project"] / "build", packed["pa"]
    table = (build / "asset_table.json").read_bytes()
    preload = (build / "preload.json").read_bytes()
    assert json.loads(table) == pa.asset_table
    assert json.loads(preload) == pa.preload
    assert table == pretty(pa.asset_table)
    assert preload == pretty(pa.preload)
    meta_bytes = (build / "asset_table_metadata.json").read_bytes()
    assert meta_bytes == pretty(json.loads(meta_bytes))


def test_tooling_metadata(packed: dict[str, Any]) -> None:
    project = packed["project"]
    meta = json.loads((project / "build/asset_table_metadata.json").read_text("utf-8"))
    entries = meta["assets"]
    roots = registry(project)
    assert [e["asset_id"] for e in entries] == [1, 2, 3, 4, 5]
    keys = set()
    for e in entries:
        root = roots[e["asset_id"]]
        d = decl(project, root)
        assert e["root"] == root
        assert e["asset_uuid"] == d["asset_uuid"]
        assert e["format"] == d["output"]["format"]
        arts = sorted(d["artifacts"], key=lambda a: a["index"])
        assert [i["file"] for i in e["inputs"]] == [a["file"] for a in arts]
        for i in e["inputs"]:
            data = (project / "assets" / root / i["file"]).read_bytes()
            assert i["blake3"] == blake3.blake3(data).hexdigest()
        assert re.fullmatch(r"[0-9a-f]{64}", e["cache_key"])
        keys.add(e["cache_key"])
        assert e.get("pipeline", {}) == d["output"]["pipeline"]
        # tooling data never leaks absolute paths
        assert str(project) not in json.dumps(e)
    assert len(keys) == 5


def test_inspect_reports_no_problems(packed: dict[str, Any]) -> None:
    code, result = cli_json(packed["project"], "inspect")
    assert code == 0, result
    assert result["status"] == "success"
    assert result["diagnostics"] == [] and result["blockers"] == []
    pa: Pa = packed["pa"]
    assert result["asset_table"] == pa.asset_table
    assert result["preload"] == pa.preload
    assert result["header_len"] == pa.header_len
    assert result["payload_offset"] == pa.payload_offset
    assert result["file_size"] == len(pa.data)


def test_inspect_extract_round_trips(packed: dict[str, Any], tmp_path: Path) -> None:
    project, pa = packed["project"], packed["pa"]
    out = tmp_path / "x"
    code, result = cli_json(project, "inspect", "--extract", str(out))
    assert code == 0, result
    folders = {int(p.name.split("_", 1)[0]): p for p in out.iterdir() if p.is_dir()}
    assert sorted(folders) == [1, 2, 3, 4, 5]
    for aid in (1, 2, 3):
        glyph = decode_glyph(pa.entry(aid), pa.payload(aid))
        sheet = Image.open(folders[aid] / "sheet.png")
        assert sheet.size == (256, 256)
        # RGBA for people: index 0 transparent, every other pixel its palette-0 colour
        assert sheet.mode == "RGBA"
        rgba = sheet.tobytes()
        assert bytes(rgba[3::4]) == bytes(0 if p == 0 else 255 for p in glyph.pixels)
        palette0 = [rgb565_to_rgb(w) for w in glyph.palettes[0]]
        for i in range(0, len(glyph.pixels), 97):
            if glyph.pixels[i]:
                assert tuple(rgba[4 * i : 4 * i + 3]) == palette0[glyph.pixels[i]], i
    for aid in (4, 5):
        samples = decode_sounds(pa.entry(aid), pa.payload(aid))
        wavs = sorted(folders[aid].glob("*.wav"))
        assert len(wavs) == len(samples)
        for i, path in enumerate(wavs):
            pcm, rate = wav_to_mono16(path.read_bytes())
            assert (pcm, rate) == (samples[i].pcm, samples[i].sample_rate), path.name
