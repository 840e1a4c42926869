"""GlyphBank (SPEC §4.1): exact payload bytes and every blocking diagnostic, from real PNGs."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from typing import Any

import pytest
from PIL import Image

from packer_tasks.families.base import MaterializeOutcome, ScaffoldRequest
from packer_tasks.families.glyph_bank import (
    DECODED_SIZE,
    PAYLOAD_SIZE,
    PIXEL_BYTES,
    GlyphBank,
    rgb565,
    rgb565_to_rgb,
)
from packer_tasks.models.declaration import AssetDeclaration

FAMILY = GlyphBank()
RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


# Builders -------------------------------------------------------------------------------------


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def rgba_png(rows: Sequence[Sequence[RGBA]]) -> bytes:
    img = Image.new("RGBA", (len(rows[0]), len(rows)))
    img.putdata([px for row in rows for px in row])
    return png_bytes(img)


def solid_rgba(size: int, color: RGBA) -> bytes:
    return png_bytes(Image.new("RGBA", (size, size), color))


def indexed_png(
    rows: Sequence[Sequence[int]], palette: Sequence[RGB], transparency: int | None = None
) -> bytes:
    img = Image.new("P", (len(rows[0]), len(rows)))
    img.putpalette([c for rgb in palette for c in rgb])
    img.putdata([px for row in rows for px in row])
    if transparency is not None:
        img.info["transparency"] = transparency
        buf = io.BytesIO()
        img.save(buf, format="PNG", transparency=transparency)
        return buf.getvalue()
    return png_bytes(img)


def solid_indexed(size: int, index: int, palette: Sequence[RGB]) -> bytes:
    return indexed_png([[index] * size for _ in range(size)], palette)


def make_decl(
    files: Sequence[str],
    *,
    tile_size: Any = 16,
    palettes: list[Any] | None = None,
    metadata: dict[str, Any] | None = None,
    indices: Sequence[int] | None = None,
) -> AssetDeclaration:
    idx = list(indices) if indices is not None else list(range(len(files)))
    pipeline: dict[str, Any] = {} if palettes is None else {"palettes": palettes}
    return AssetDeclaration.model_validate(
        {
            "schema_version": 1,
            "asset_uuid": "6f1c2a52-0f3e-4d3b-9a57-2f1e4c8b9d10",
            "name": "tiles",
            "type": "glyph_bank",
            "inputs": {"tiles": list(dict.fromkeys(files))},
            "artifacts": [{"index": i, "file": f} for i, f in zip(idx, files, strict=True)],
            "output": {
                "format": "GLYPH/indexed_v1",
                "codec": "NONE",
                "metadata": {"tile_size": tile_size} if metadata is None else metadata,
                "pipeline": pipeline,
            },
            "preload": {"enabled": True},
        }
    )


def palette0(*colors: str) -> list[dict[str, Any]]:
    return [{"index": 0, "palette": {"colors": list(colors)}}]


def ok(outcome: MaterializeOutcome) -> tuple[bytes, dict[str, Any]]:
    assert outcome.diagnostics == (), outcome.diagnostics
    assert outcome.materialized is not None
    return outcome.materialized.payload, outcome.materialized.metadata


def codes(outcome: MaterializeOutcome) -> list[str]:
    assert outcome.materialized is None
    assert all(d.blocking for d in outcome.diagnostics)
    return [d.code for d in outcome.diagnostics]


def sheet_index(payload: bytes, x: int, y: int) -> int:
    byte = payload[(y * 256 + x) // 2]
    return byte >> 4 if x % 2 == 0 else byte & 0x0F


def palette_word(payload: bytes, palette: int, entry: int) -> int:
    value: int = struct.unpack_from("<H", payload, PIXEL_BYTES + (palette * 16 + entry) * 2)[0]
    return value


GREY: list[RGB] = [(i * 16, i * 16, i * 16) for i in range(16)]


# Family constants and RGB565 ------------------------------------------------------------------


def test_family_constants() -> None:
    assert FAMILY.type_name == "glyph_bank"
    assert FAMILY.format == "GLYPH/indexed_v1"
    assert FAMILY.bank_type == "GLYPH"
    assert FAMILY.input_role == "tiles"
    assert FAMILY.input_suffixes == (".png",)


def test_rgb565_formula_and_expansion() -> None:
    assert rgb565(0xFF, 0x00, 0x44) == 0xF808
    assert rgb565(0xFF, 0xFF, 0xFF) == 0xFFFF
    assert rgb565(0x08, 0x04, 0x08) == (1 << 11) | (1 << 5) | 1
    assert rgb565_to_rgb(0xFFFF) == (255, 255, 255)
    assert rgb565_to_rgb(0) == (0, 0, 0)


# Payload layout --------------------------------------------------------------------------------


def test_payload_size_metadata_and_decoded_size() -> None:
    files = {"a.png": solid_indexed(16, 1, GREY)}
    outcome = FAMILY.materialize(make_decl(["a.png"], palettes=palette0("#000000")), files)
    payload, metadata = ok(outcome)
    assert len(payload) == PAYLOAD_SIZE == 34816
    assert outcome.materialized is not None
    assert outcome.materialized.decoded_size == DECODED_SIZE == 67584
    assert metadata == {
        "tile_size": 16,
        "width": 256,
        "height": 256,
        "palette_count": 64,
        "palette_authored": 1,
        "tile_count": 1,
    }


def test_left_pixel_is_high_nibble() -> None:
    rows = [[0] * 8 for _ in range(8)]
    rows[0][:4] = [1, 2, 3, 4]
    rows[1][0] = 15
    outcome = FAMILY.materialize(
        make_decl(["t.png"], tile_size=8, palettes=palette0("#000000")),
        {"t.png": indexed_png(rows, GREY)},
    )
    payload, _ = ok(outcome)
    assert payload[0] == 0x12
    assert payload[1] == 0x34
    assert payload[2:4] == b"\x00\x00"
    assert payload[128] == 0xF0  # row 1 starts at byte 256 / 2


@pytest.mark.parametrize("size", [8, 16, 32])
def test_tile_placement_wraps_rows(size: int) -> None:
    cols = 256 // size
    count = cols + 2  # a full first row plus two tiles on the second
    names = [f"t{i}.png" for i in range(count)]
    files = {name: solid_indexed(size, i % 15 + 1, GREY) for i, name in enumerate(names)}
    payload, metadata = ok(FAMILY.materialize(make_decl(names, tile_size=size), files))
    assert metadata["tile_count"] == count
    for i in range(count):
        x0, y0 = (i % cols) * size, (i // cols) * size
        for x, y in [(x0, y0), (x0 + size - 1, y0 + size - 1)]:
            assert sheet_index(payload, x, y) == i % 15 + 1
    # cells with no tile stay 0
    assert sheet_index(payload, 2 * size, size) == 0
    assert sheet_index(payload, 255, 255) == 0


def test_tiles_placed_by_index_not_list_position() -> None:
    files = {"a.png": solid_indexed(8, 3, GREY), "b.png": solid_indexed(8, 7, GREY)}
    decl = make_decl(["a.png", "b.png"], tile_size=8, indices=[1, 0])
    payload, _ = ok(FAMILY.materialize(decl, files))
    assert sheet_index(payload, 0, 0) == 7
    assert sheet_index(payload, 8, 0) == 3


def test_palette_block_rgb565_little_endian() -> None:
    palettes = [
        {"index": 5, "palette": {"colors": ["#ffffff", "#123456"]}},
        {"index": 0, "palette": {"colors": ["#000000", "#ff0044"]}},
    ]
    files = {"a.png": solid_indexed(16, 1, GREY)}
    payload, metadata = ok(FAMILY.materialize(make_decl(["a.png"], palettes=palettes), files))
    block = payload[PIXEL_BYTES:]
    assert len(block) == 2048
    assert block[0:4] == b"\x00\x00\x08\xf8"  # palette 0: #000000, #ff0044 = 0xF808 LE
    assert block[4:32] == bytes(28)
    p5 = 5 * 32
    assert block[p5 : p5 + 4] == b"\xff\xff" + struct.pack("<H", rgb565(0x12, 0x34, 0x56))
    assert block[32:p5] == bytes(p5 - 32)
    assert block[p5 + 4 :] == bytes(2048 - p5 - 4)
    assert metadata["palette_authored"] == 2


# Pixel → index ---------------------------------------------------------------------------------


def test_rgba_matches_first_entry_after_rgb565_and_alpha0_is_zero() -> None:
    rows: list[list[RGBA]] = [[(0, 0, 0, 0)] * 8 for _ in range(8)]
    rows[0][0] = (0xFF, 0x00, 0x46, 255)  # RGB565 equals #ff0044 → first match, entry 1
    rows[0][1] = (0xFF, 0x00, 0x44, 128)  # partly transparent counts as opaque
    rows[0][2] = (0x12, 0x34, 0x56, 0)  # transparent: index 0 whatever its colour
    rows[0][3] = (0x00, 0xFF, 0x00, 255)
    decl = make_decl(
        ["t.png"], tile_size=8, palettes=palette0("#000000", "#ff0044", "#ff0045", "#00ff00")
    )
    payload, _ = ok(FAMILY.materialize(decl, {"t.png": rgba_png(rows)}))
    assert [sheet_index(payload, x, 0) for x in range(5)] == [1, 1, 0, 3, 0]


def test_rgb_mode_png_is_matched() -> None:
    img = Image.new("RGB", (8, 8), (0, 255, 0))
    img.putpixel((7, 7), (255, 0, 68))
    decl = make_decl(["t.png"], tile_size=8, palettes=palette0("#ff0044", "#00ff00"))
    payload, _ = ok(FAMILY.materialize(decl, {"t.png": png_bytes(img)}))
    assert sheet_index(payload, 0, 0) == 1
    assert sheet_index(payload, 7, 7) == 0


def test_color_not_in_palette_names_file_pixel_and_colour() -> None:
    rows: list[list[RGBA]] = [[(0, 0, 0, 255)] * 8 for _ in range(8)]
    rows[2][3] = (0xAB, 0xCD, 0xEF, 255)
    decl = make_decl(["hud/heart.png"], tile_size=8, palettes=palette0("#000000"))
    outcome = FAMILY.materialize(decl, {"hud/heart.png": rgba_png(rows)})
    assert codes(outcome) == ["glyph.color_not_in_palette"]
    diag = outcome.diagnostics[0]
    assert diag.path == "hud/heart.png"
    assert "hud/heart.png" in diag.message
    assert "(3, 2)" in diag.message
    assert "#abcdef" in diag.message
    assert diag.hint


def test_indexed_png_uses_own_indices_ignoring_declared_colours() -> None:
    rows = [[i % 16 for i in range(8)] for _ in range(8)]
    decl = make_decl(["t.png"], tile_size=8, palettes=palette0("#ffffff"))
    payload, _ = ok(FAMILY.materialize(decl, {"t.png": indexed_png(rows, GREY)}))
    assert [sheet_index(payload, x, 5) for x in range(8)] == list(range(8))


def test_indexed_png_with_transparency_keeps_its_indices() -> None:
    rows = [[5] * 8 for _ in range(8)]
    rows[0][0] = 2
    data = indexed_png(rows, GREY, transparency=5)
    assert "transparency" in Image.open(io.BytesIO(data)).info
    payload, _ = ok(FAMILY.materialize(make_decl(["t.png"], tile_size=8), {"t.png": data}))
    assert sheet_index(payload, 0, 0) == 2
    assert sheet_index(payload, 1, 0) == 5


def test_indexed_png_index_out_of_range() -> None:
    rows = [[0] * 8 for _ in range(8)]
    rows[1][4] = 16
    palette: list[RGB] = [(i, i, i) for i in range(32)]
    decl = make_decl(["big.png"], tile_size=8, palettes=palette0("#000000"))
    outcome = FAMILY.materialize(decl, {"big.png": indexed_png(rows, palette)})
    assert codes(outcome) == ["glyph.index_out_of_range"]
    assert outcome.diagnostics[0].path == "big.png"
    assert "(4, 1)" in outcome.diagnostics[0].message


def test_missing_palette_zero_makes_opaque_pixels_unmatched() -> None:
    decl = make_decl(
        ["t.png"], tile_size=8, palettes=[{"index": 1, "palette": {"colors": ["#ffffff"]}}]
    )
    outcome = FAMILY.materialize(decl, {"t.png": solid_rgba(8, (255, 255, 255, 255))})
    assert codes(outcome) == ["glyph.color_not_in_palette"]


# Derived palettes ------------------------------------------------------------------------------


def test_derived_palette_first_appearance_by_index_then_row_major() -> None:
    red, green, blue, white = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255,) * 4
    first: list[list[RGBA]] = [[(0, 0, 0, 0)] * 8 for _ in range(8)]
    first[0][5] = blue
    first[1][0] = red
    first[3][3] = (0, 0, 0, 255)  # opaque black maps to entry 0, takes no slot
    second: list[list[RGBA]] = [[green] * 8 for _ in range(8)]
    second[0][0] = white
    second[7][7] = blue
    files = {"z_first.png": rgba_png(first), "a_second.png": rgba_png(second)}
    # list order puts index 1 first: derivation must scan by index
    decl = make_decl(["a_second.png", "z_first.png"], tile_size=8, indices=[1, 0])
    payload, metadata = ok(FAMILY.materialize(decl, files))
    assert metadata["palette_authored"] == 1
    assert [palette_word(payload, 0, e) for e in range(6)] == [
        0x0000,
        rgb565(0, 0, 255),
        rgb565(255, 0, 0),
        rgb565(255, 255, 255),
        rgb565(0, 255, 0),
        0,
    ]
    assert sheet_index(payload, 5, 0) == 1
    assert sheet_index(payload, 0, 1) == 2
    assert sheet_index(payload, 3, 3) == 0
    assert sheet_index(payload, 8, 0) == 3
    assert sheet_index(payload, 9, 0) == 4
    assert payload[PIXEL_BYTES + 32 :] == bytes(2048 - 32)


def test_empty_palette_list_means_derived() -> None:
    decl = make_decl(["t.png"], tile_size=8, palettes=[])
    payload, metadata = ok(FAMILY.materialize(decl, {"t.png": solid_rgba(8, (255, 0, 0, 255))}))
    assert metadata["palette_authored"] == 1
    assert palette_word(payload, 0, 1) == 0xF800


def _colour_tile(colours: Sequence[RGB]) -> bytes:
    rows: list[list[RGBA]] = [[(0, 0, 0, 0)] * 8 for _ in range(8)]
    for i, (r, g, b) in enumerate(colours):
        rows[i // 8][i % 8] = (r, g, b, 255)
    return rgba_png(rows)


def test_derived_palette_holds_fifteen_colours() -> None:
    colours = [(8 * (i + 1), 0, 0) for i in range(15)]
    payload, _ = ok(
        FAMILY.materialize(make_decl(["t.png"], tile_size=8), {"t.png": _colour_tile(colours)})
    )
    assert palette_word(payload, 0, 15) == rgb565(120, 0, 0)


def test_derived_palette_overflow() -> None:
    colours = [(8 * (i + 1), 0, 0) for i in range(16)]
    outcome = FAMILY.materialize(
        make_decl(["t.png"], tile_size=8), {"t.png": _colour_tile(colours)}
    )
    assert codes(outcome) == ["glyph.derived_palette_overflow"]
    diag = outcome.diagnostics[0]
    assert diag.path == "t.png"
    assert "(7, 1)" in diag.message and "#800000" in diag.message


def test_derived_palette_from_lowest_indexed_artifact() -> None:
    pal_a: list[RGB] = [(0, 0, 0), (255, 0, 0), (0, 255, 0)] + [(1, 2, 3)] * 13
    pal_b: list[RGB] = [(0, 0, 0), (255, 0, 0), (9, 9, 9)]  # differs only in unused entry 2
    rgba_tile = solid_rgba(8, (0, 255, 0, 255))
    files = {
        "b.png": solid_indexed(8, 1, pal_b),
        "a.png": solid_indexed(8, 2, pal_a),
        "c.png": rgba_tile,
    }
    decl = make_decl(["a.png", "b.png", "c.png"], tile_size=8)
    payload, metadata = ok(FAMILY.materialize(decl, files))
    assert metadata["palette_authored"] == 1
    assert [palette_word(payload, 0, e) for e in range(3)] == [0, 0xF800, 0x07E0]
    assert palette_word(payload, 0, 15) == rgb565(1, 2, 3)
    assert sheet_index(payload, 0, 0) == 2
    assert sheet_index(payload, 8, 0) == 1
    assert sheet_index(payload, 16, 0) == 2  # RGBA tile matched against derived palette 0


def test_derived_palette_short_png_palette_pads_with_zero() -> None:
    files = {"a.png": solid_indexed(8, 1, [(0, 0, 0), (255, 255, 255)])}
    payload, _ = ok(FAMILY.materialize(make_decl(["a.png"], tile_size=8), files))
    assert palette_word(payload, 0, 1) == 0xFFFF
    assert palette_word(payload, 0, 2) == 0


def test_indexed_palette_conflict_in_used_entry() -> None:
    pal_a: list[RGB] = [(0, 0, 0), (255, 0, 0)]
    pal_b: list[RGB] = [(0, 0, 0), (0, 0, 255)]
    files = {"a.png": solid_indexed(8, 1, pal_a), "b.png": solid_indexed(8, 1, pal_b)}
    outcome = FAMILY.materialize(make_decl(["a.png", "b.png"], tile_size=8), files)
    assert codes(outcome) == ["glyph.indexed_palette_conflict"]
    diag = outcome.diagnostics[0]
    assert diag.path == "b.png"
    assert "a.png" in diag.message and "entry 1" in diag.message


# Declaration checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [12, "16", True, 16.0, None, 0])
def test_tile_size_invalid(value: Any) -> None:
    metadata = {} if value is None else {"tile_size": value}
    decl = make_decl(["a.png"], metadata=metadata)
    got = [d.code for d in FAMILY.check_declaration(decl)]
    assert got == ["glyph.tile_size_invalid"]
    outcome = FAMILY.materialize(decl, {"a.png": solid_indexed(16, 1, GREY)})
    assert codes(outcome) == ["glyph.tile_size_invalid"]


def test_capacity_per_tile_size() -> None:
    assert FAMILY.max_artifacts(None) == 1024
    assert [FAMILY.max_artifacts(make_decl(["a.png"], tile_size=s)) for s in (8, 16, 32)] == [
        1024,
        256,
        64,
    ]
    assert FAMILY.max_artifacts(make_decl(["a.png"], tile_size=7)) == 1024
    names = [f"t{i}.png" for i in range(65)]
    got = [d.code for d in FAMILY.check_declaration(make_decl(names, tile_size=32))]
    assert got == ["artifact.over_capacity"]
    assert FAMILY.check_declaration(make_decl(names[:64], tile_size=32)) == []


def test_index_gap_is_blocking() -> None:
    decl = make_decl(["a.png", "b.png"], indices=[0, 2])
    assert "artifact.index_gap" in [d.code for d in FAMILY.check_declaration(decl)]


def test_artifact_must_be_png() -> None:
    diags = FAMILY.check_declaration(make_decl(["a.png", "b.bmp"]))
    assert [(d.code, d.path) for d in diags] == [("glyph.input_not_png", "b.bmp")]


def test_format_and_codec_checked() -> None:
    decl = make_decl(["a.png"])
    data = decl.model_dump()
    data["output"]["format"] = "SOUNDS/pcm16le_v1"
    data["output"]["codec"] = "LZ4"
    got = {d.code for d in FAMILY.check_declaration(AssetDeclaration.model_validate(data))}
    assert got == {"output.format_mismatch", "output.codec_unsupported"}


@pytest.mark.parametrize(
    ("palettes", "code"),
    [
        ("nope", "glyph.palette_malformed"),
        ([{"index": 0}], "glyph.palette_malformed"),
        ([{"index": "0", "palette": {"colors": []}}], "glyph.palette_malformed"),
        ([{"index": 0, "palette": {"colors": "#000000"}}], "glyph.palette_malformed"),
        ([{"index": 64, "palette": {"colors": []}}], "glyph.palette_index_out_of_range"),
        ([{"index": -1, "palette": {"colors": []}}], "glyph.palette_index_out_of_range"),
        (
            [{"index": 3, "palette": {"colors": []}}, {"index": 3, "palette": {"colors": []}}],
            "glyph.palette_index_duplicate",
        ),
        ([{"index": 0, "palette": {"colors": ["#000000"] * 17}}], "glyph.palette_too_many_colors"),
        ([{"index": 0, "palette": {"colors": ["#00000"]}}], "glyph.palette_color_invalid"),
        ([{"index": 0, "palette": {"colors": ["red"]}}], "glyph.palette_color_invalid"),
        ([{"index": 0, "palette": {"colors": [123]}}], "glyph.palette_color_invalid"),
    ],
)
def test_palette_structure_errors(palettes: Any, code: str) -> None:
    decl = make_decl(["a.png"], palettes=palettes)
    assert [d.code for d in FAMILY.check_declaration(decl)] == [code]
    assert codes(FAMILY.materialize(decl, {"a.png": solid_indexed(16, 1, GREY)})) == [code]


def test_palette_count_exceeded() -> None:
    palettes = [{"index": i, "palette": {"colors": []}} for i in range(65)]
    got = [d.code for d in FAMILY.check_declaration(make_decl(["a.png"], palettes=palettes))]
    assert got[0] == "glyph.palette_count_exceeded"
    assert "glyph.palette_index_out_of_range" in got


def test_sixty_four_palettes_with_sixteen_colours_are_fine() -> None:
    palettes = [{"index": i, "palette": {"colors": ["#ffffff"] * 16}} for i in range(64)]
    decl = make_decl(["a.png"], palettes=palettes)
    assert FAMILY.check_declaration(decl) == []
    payload, metadata = ok(FAMILY.materialize(decl, {"a.png": solid_indexed(16, 1, GREY)}))
    assert payload[PIXEL_BYTES:] == b"\xff" * 2048
    assert metadata["palette_authored"] == 64


# Input bytes -----------------------------------------------------------------------------------


def test_missing_input_bytes() -> None:
    outcome = FAMILY.materialize(make_decl(["a.png", "b.png"]), {"a.png": solid_rgba(16, (0,) * 4)})
    assert codes(outcome) == ["input.missing"]
    assert outcome.diagnostics[0].path == "b.png"


def _noise_png() -> bytes:
    img = Image.new("RGBA", (16, 16))
    img.putdata([(i * 7 % 256, i * 13 % 256, i * 29 % 256, 255) for i in range(256)])
    return png_bytes(img)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not a png",
        pytest.param(_jpeg(), id="jpeg"),
        pytest.param(_noise_png()[:-40], id="truncated"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, id="garbage-after-signature"),
    ],
)
def test_unreadable_png(data: bytes) -> None:
    outcome = FAMILY.materialize(make_decl(["bad.png"]), {"bad.png": data})
    assert codes(outcome) == ["glyph.png_unreadable"]
    assert outcome.diagnostics[0].path == "bad.png"
    assert "bad.png" in outcome.diagnostics[0].message


def test_wrong_dimensions() -> None:
    data = png_bytes(Image.new("RGBA", (16, 8)))
    outcome = FAMILY.materialize(make_decl(["wide.png"], tile_size=16), {"wide.png": data})
    assert codes(outcome) == ["glyph.tile_dimensions"]
    assert "16x8" in outcome.diagnostics[0].message
    assert outcome.diagnostics[0].path == "wide.png"


def test_all_file_problems_reported_together() -> None:
    files = {"a.png": b"junk", "b.png": png_bytes(Image.new("RGBA", (8, 8)))}
    outcome = FAMILY.materialize(make_decl(["a.png", "b.png", "c.png"]), files)
    assert codes(outcome) == ["glyph.png_unreadable", "glyph.tile_dimensions", "input.missing"]


def test_materialize_is_deterministic() -> None:
    files = {f"t{i}.png": _colour_tile([(16 * i, 8, 8)]) for i in range(5)}
    decl = make_decl(list(files), tile_size=8)
    assert ok(FAMILY.materialize(decl, files)) == ok(FAMILY.materialize(decl, dict(files)))


# Extract and scaffold --------------------------------------------------------------------------


def test_extract_sheet_and_tiles_round_trip() -> None:
    rows: list[list[RGBA]] = [[(255, 0, 68, 255)] * 16 for _ in range(16)]
    rows[0][0] = (0, 0, 0, 0)
    files = {"a.png": rgba_png(rows), "b.png": solid_rgba(16, (255, 255, 255, 255))}
    decl = make_decl(["a.png", "b.png"], palettes=palette0("#000000", "#ff0044", "#ffffff"))
    payload, metadata = ok(FAMILY.materialize(decl, files))
    extracted = FAMILY.extract(metadata, payload)
    assert [f.name for f in extracted] == ["sheet.png", "tile_000.png", "tile_001.png"]
    sheet = Image.open(io.BytesIO(extracted[0].data))
    assert sheet.size == (256, 256)
    rgb = sheet.convert("RGB")
    assert rgb.getpixel((0, 0)) == (0, 0, 0)
    assert rgb.getpixel((1, 0)) == rgb565_to_rgb(0xF808)
    assert rgb.getpixel((16, 0)) == (255, 255, 255)
    tile = Image.open(io.BytesIO(extracted[2].data))
    assert tile.size == (16, 16)
    # re-packing the extracted (indexed) tiles gives the same payload
    again = {"a.png": extracted[1].data, "b.png": extracted[2].data}
    assert ok(FAMILY.materialize(decl, again))[0] == payload


def test_extract_rejects_bad_payload() -> None:
    with pytest.raises(ValueError):
        FAMILY.extract({"tile_size": 16, "tile_count": 1}, b"\x00" * 10)


def test_scaffold_output() -> None:
    plain = FAMILY.scaffold_output(ScaffoldRequest(["a.png"]))
    assert plain.format == "GLYPH/indexed_v1"
    assert plain.codec == "NONE"
    assert plain.metadata == {"tile_size": 16}
    assert plain.pipeline == {}
    out = FAMILY.scaffold_output(
        ScaffoldRequest(["a.png"], {"tile_size": 8, "palette": ["#000000", "#ff0044"]})
    )
    assert out.metadata == {"tile_size": 8}
    assert out.pipeline == {"palettes": palette0("#000000", "#ff0044")}
    decl = make_decl(["a.png"], metadata=out.metadata, palettes=out.pipeline["palettes"])
    assert FAMILY.check_declaration(decl) == []


# Exact results of the fast paths (colour tables, packed nibbles) ------------------------------


def test_full_sheet_matches_a_pixel_by_pixel_packing() -> None:
    import random

    rng = random.Random(5)
    grids = [bytes(rng.randrange(16) for _ in range(64)) for _ in range(1024)]
    files = {
        f"t{i:04d}.png": indexed_png([g[r * 8 : r * 8 + 8] for r in range(8)], GREY)
        for i, g in enumerate(grids)
    }
    payload, metadata = ok(FAMILY.materialize(make_decl(list(files), tile_size=8), files))
    assert metadata["tile_count"] == 1024
    sheet = [[0] * 256 for _ in range(256)]
    for i, g in enumerate(grids):
        for p, v in enumerate(g):
            sheet[(i // 32) * 8 + p // 8][(i % 32) * 8 + p % 8] = v
    flat = [v for row in sheet for v in row]
    expected = bytes((flat[k] << 4) | flat[k + 1] for k in range(0, len(flat), 2))
    assert payload[:PIXEL_BYTES] == expected


def test_unknown_colours_first_pixel_row_major_and_distinct_rgb565_count() -> None:
    rows: list[list[RGBA]] = [[(0, 0, 0, 255)] * 8 for _ in range(8)]
    rows[0][1] = (0x12, 0x34, 0x56, 0)  # transparent: never unknown
    rows[5][0] = (0x80, 0x80, 0x80, 255)
    rows[2][6] = (0x40, 0x40, 0x40, 255)  # first unknown row-major
    rows[6][6] = (0x41, 0x41, 0x41, 255)  # same RGB565 as 0x404040: one missing colour
    decl = make_decl(["t.png"], tile_size=8, palettes=palette0("#000000"))
    outcome = FAMILY.materialize(decl, {"t.png": rgba_png(rows)})
    assert codes(outcome) == ["glyph.color_not_in_palette"]
    message = outcome.diagnostics[0].message
    assert "pixel (6, 2) has colour #404040" in message
    assert "(2 colours are missing in total)" in message


def test_unknown_colour_reported_in_every_tile_that_uses_it() -> None:
    good = solid_rgba(8, (0, 0, 0, 255))
    rows: list[list[RGBA]] = [[(0, 0, 0, 255)] * 8 for _ in range(8)]
    rows[3][1] = (255, 255, 255, 255)
    other: list[list[RGBA]] = [[(0, 0, 0, 255)] * 8 for _ in range(8)]
    other[0][7] = (255, 255, 255, 255)
    files = {"a.png": rgba_png(rows), "b.png": good, "c.png": rgba_png(other)}
    decl = make_decl(list(files), tile_size=8, palettes=palette0("#000000"))
    outcome = FAMILY.materialize(decl, files)
    assert codes(outcome) == ["glyph.color_not_in_palette"] * 2
    assert [d.path for d in outcome.diagnostics] == ["a.png", "c.png"]
    assert "pixel (1, 3)" in outcome.diagnostics[0].message
    assert "pixel (7, 0)" in outcome.diagnostics[1].message


def test_rgb565_twins_take_one_slot_and_map_to_the_first_entry() -> None:
    rows: list[list[RGBA]] = [[(0x40, 0x40, 0x40, 255)] * 8 for _ in range(8)]
    rows[4][4] = (0x43, 0x43, 0x47, 255)  # same RGB565
    files = {"t.png": rgba_png(rows)}
    payload, _ = ok(FAMILY.materialize(make_decl(["t.png"], tile_size=8), files))
    assert palette_word(payload, 0, 1) == rgb565(0x40, 0x40, 0x40)
    assert palette_word(payload, 0, 2) == 0
    assert sheet_index(payload, 4, 4) == 1
    decl = make_decl(["t.png"], tile_size=8, palettes=palette0("#404040", "#434347"))
    payload, _ = ok(FAMILY.materialize(decl, files))
    assert sheet_index(payload, 4, 4) == 0 and sheet_index(payload, 0, 0) == 0


def test_derived_overflow_in_a_later_tile_names_its_pixel() -> None:
    first = _colour_tile([(8 * (i + 1), 0, 0) for i in range(15)])
    rows: list[list[RGBA]] = [[(8, 0, 0, 255)] * 8 for _ in range(8)]  # a known colour
    rows[6][2] = (0, 0, 200, 255)
    rows[7][7] = (0, 200, 0, 255)
    files = {"a.png": first, "b.png": rgba_png(rows)}
    outcome = FAMILY.materialize(make_decl(list(files), tile_size=8), files)
    assert codes(outcome) == ["glyph.derived_palette_overflow"]
    message = outcome.diagnostics[0].message
    assert "17 distinct opaque colours" in message
    assert "#0000c8 at pixel (2, 6) of b.png" in message


def test_index_out_of_range_counts_affected_pixels() -> None:
    rows = [[0] * 8 for _ in range(8)]
    rows[6][1] = 20
    rows[2][5] = 17
    palette: list[RGB] = [(i, i, i) for i in range(32)]
    outcome = FAMILY.materialize(
        make_decl(["t.png"], tile_size=8), {"t.png": indexed_png(rows, palette)}
    )
    assert codes(outcome) == ["glyph.index_out_of_range"]
    message = outcome.diagnostics[0].message
    assert "pixel (5, 2) uses colour index 17" in message
    assert "(2 pixels affected)" in message
