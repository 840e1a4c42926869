"""`inspect --extract` for people (issue 13): glyph sheets as RGBA with palette index 0
transparent, and a contact sheet per glyph bank with its palettes as swatches."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from conftest import run_cli
from PIL import Image


def test_extract_is_transparent_and_has_a_contact_sheet(starter_copy: Path, tmp_path: Path) -> None:
    assert run_cli("pack", cwd=starter_copy)[0] == 0
    out = tmp_path / "look"
    rc, stdout, err = run_cli("inspect", "--extract", out, "--json", cwd=starter_copy)
    assert rc == 0, err
    extracted = [Path(p) for p in json.loads(stdout)["extracted"]]
    hud = out / "0001_hud_icons"
    assert hud / "contact_sheet.png" in extracted

    with Image.open(hud / "sheet.png") as sheet:
        assert sheet.mode == "RGBA" and sheet.size == (256, 256)
        assert sheet.getpixel((255, 255)) == (0, 0, 0, 0)  # no tile there: index 0
        alphas = {sheet.getpixel((x, y))[3] for x in range(16) for y in range(16)}  # type: ignore[index]
        assert alphas == {0, 255}  # the heart: its index-0 background shows through
    with Image.open(hud / "tile_000.png") as tile:
        assert tile.mode == "RGBA" and tile.size == (16, 16)

    # the swatches are the packed palette 0 (RGB565 expanded), read back from assets.pa
    data = (starter_copy / "build/assets.pa").read_bytes()
    header_len, payload_offset = struct.unpack_from("<II", data, 16)
    header = json.loads(data[24 : 24 + header_len])
    entry = next(e for e in header["asset_table"] if e["asset_id"] == 1)
    start = payload_offset + entry["offset"] + 32768
    word = struct.unpack_from("<H", data, start + 2)[0]  # palette 0, entry 1
    r, g, b = (word >> 11) & 0x1F, (word >> 5) & 0x3F, word & 0x1F
    expected = (r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2, 255)
    with Image.open(hud / "contact_sheet.png") as contact:
        assert contact.mode == "RGBA"
        colours = {
            contact.getpixel((x, y)) for x in range(contact.width) for y in range(contact.height)
        }
        assert expected in colours
    # sound banks are unchanged: WAV samples
    assert sorted(p.name for p in (out / "0004_basic").iterdir())[0].endswith(".wav")
