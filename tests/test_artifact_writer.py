"""The assets.pa writer: golden bytes, alignment, streaming, and the companion files."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer_tasks.artifact import (
    OUTPUT_NAMES,
    PackEntry,
    assets_pa_bytes,
    build_header,
    companion_files,
    prelude,
    read_assets_pa,
    write_assets_pa,
)
from packer_tasks.canonical_json import FloatNotAllowed

HUD = PackEntry(1, "hud", "GLYPH", "NONE", 6, {"tile_size": 8}, 3)
ACAO = PackEntry(3, "ação", "SOUNDS", "NONE", 4, {"channels": 1}, 4)
PAYLOADS = {1: b"\x01\x02\x03", 3: b"\xaa\xbb\xcc\xdd"}
PRELOAD = [{"asset_id": 1, "slot": 0}]

GOLDEN_HEADER = (
    '{"asset_table":['
    '{"asset_id":1,"asset_name":"hud","bank_type":"GLYPH","codec":"NONE","decoded_size":6,'
    '"metadata":{"tile_size":8},"offset":0,"size":3},'
    '{"asset_id":3,"asset_name":"ação","bank_type":"SOUNDS","codec":"NONE","decoded_size":4,'
    '"metadata":{"channels":1},"offset":16,"size":4}'
    '],"preload":[{"asset_id":1,"slot":0}]}'
).encode()


def golden_bytes() -> bytes:
    """Worked out by hand: 323-byte header, 24 + 323 = 347 → payloads at 352."""
    assert len(GOLDEN_HEADER) == 323
    head = struct.pack("<4sIIIII", b"PMPA", 1, 0, 0, 323, 352)
    padding = bytes(352 - 347)
    region = b"\x01\x02\x03" + bytes(13) + b"\xaa\xbb\xcc\xdd"
    return head + GOLDEN_HEADER + padding + region


def test_golden_file_is_byte_exact() -> None:
    data = assets_pa_bytes([HUD, ACAO], PRELOAD, PAYLOADS)
    assert data == golden_bytes()
    assert len(data) == 372


def test_layout_describes_what_was_written() -> None:
    out = io.BytesIO()
    layout = write_assets_pa(out, [HUD, ACAO], PRELOAD, lambda aid: [PAYLOADS[aid]])
    data = out.getvalue()
    assert data == golden_bytes()
    assert layout.header_bytes == GOLDEN_HEADER
    assert layout.header == json.loads(GOLDEN_HEADER)
    assert layout.payload_offset == 352
    assert layout.total_size == len(data)
    assert layout.blake3 == blake3.blake3(data).hexdigest()


def test_non_ascii_name_is_kept_as_utf8() -> None:
    _, header = build_header([ACAO], [])
    assert "ação".encode() in header
    assert b"\\u" not in header


def test_prelude_fields() -> None:
    assert prelude(323) == b"PMPA" + struct.pack("<IIIII", 1, 0, 0, 323, 352)
    assert prelude(8) == b"PMPA" + struct.pack("<IIIII", 1, 0, 0, 8, 32)
    assert prelude(0)[20:] == struct.pack("<I", 32)
    assert len(prelude(1000)) == 24


def test_payloads_are_16_aligned_with_zero_gaps_and_no_tail() -> None:
    sizes = [0, 1, 15, 16, 17, 0, 5]
    entries = [PackEntry(i + 1, f"a{i}", "GLYPH", "NONE", s, {}, s) for i, s in enumerate(sizes)]
    payloads = {e.asset_id: bytes([0xFF]) * e.payload_size for e in entries}
    data = assets_pa_bytes(entries, [], payloads)
    header, _ = build_header(entries, [])
    offsets = [row["offset"] for row in header["asset_table"]]
    assert offsets == [0, 0, 16, 32, 48, 80, 80]
    payload_offset = struct.unpack_from("<I", data, 20)[0]
    assert payload_offset % 16 == 0
    region = data[payload_offset:]
    assert len(region) == 80 + 5  # ends right after the last payload
    assert region == (
        b"\xff"
        + bytes(15)
        + b"\xff" * 15
        + bytes(1)
        + b"\xff" * 16
        + b"\xff" * 17
        + bytes(15)
        + b"\xff" * 5
    )


def test_empty_pack_is_prelude_header_and_padding() -> None:
    data = assets_pa_bytes([], [], {})
    header = b'{"asset_table":[],"preload":[]}'
    assert data == struct.pack("<4sIIIII", b"PMPA", 1, 0, 0, 31, 64) + header + bytes(9)
    assert read_assets_pa(data).problems == []


def test_streaming_matches_bytes_and_pulls_one_asset_at_a_time() -> None:
    events: list[str] = []

    def chunks(asset_id: int) -> Iterator[bytes]:
        events.append(f"start {asset_id}")
        data = PAYLOADS[asset_id]
        for i in range(len(data)):
            yield data[i : i + 1]
        yield b""
        events.append(f"end {asset_id}")

    out = io.BytesIO()
    write_assets_pa(out, [HUD, ACAO], PRELOAD, chunks)
    assert out.getvalue() == assets_pa_bytes([HUD, ACAO], PRELOAD, PAYLOADS)
    assert events == ["start 1", "end 1", "start 3", "end 3"]


@pytest.mark.parametrize("payload", [b"\x01\x02", b"\x01\x02\x03\x04"])
def test_payload_size_mismatch_raises(payload: bytes) -> None:
    with pytest.raises(ValueError, match="asset 1"):
        assets_pa_bytes([HUD], [], {1: payload})


@pytest.mark.parametrize(
    "entries",
    [[ACAO, HUD], [HUD, HUD], [PackEntry(0, "zero", "GLYPH", "NONE", 0, {}, 0)]],
    ids=["unsorted", "duplicate", "non-positive"],
)
def test_bad_entry_order_raises(entries: list[PackEntry]) -> None:
    with pytest.raises(ValueError):
        build_header(entries, [])


@pytest.mark.parametrize(
    "preload",
    [
        [{"asset_id": 2, "slot": 0}],
        [{"asset_id": 3, "slot": 0}, {"asset_id": 1, "slot": 0}],
        [{"asset_id": 1, "slot": 16}],
        [{"asset_id": 1}],
    ],
    ids=["unknown-asset", "unsorted", "slot-range", "shape"],
)
def test_inconsistent_preload_raises(preload: list[dict[str, int]]) -> None:
    with pytest.raises(ValueError):
        build_header([HUD, ACAO], preload)


def test_same_slot_in_two_bank_types_is_fine_but_not_in_one() -> None:
    build_header([HUD, ACAO], [{"asset_id": 1, "slot": 0}, {"asset_id": 3, "slot": 0}])
    twin = PackEntry(2, "hud2", "GLYPH", "NONE", 0, {}, 0)
    with pytest.raises(ValueError, match="twice"):
        build_header([HUD, twin], [{"asset_id": 1, "slot": 0}, {"asset_id": 2, "slot": 0}])


@pytest.mark.parametrize(
    "metadata", [{"gain": 0.5}, {"samples": {"0": {"offset": 0, "rate": 8000.0}}}, {"x": [1, 2.0]}]
)
def test_float_in_metadata_is_rejected_before_writing(metadata: dict[str, object]) -> None:
    entry = PackEntry(1, "s", "SOUNDS", "NONE", 0, metadata, 0)
    out = io.BytesIO()
    with pytest.raises(FloatNotAllowed):
        write_assets_pa(out, [entry], [], lambda aid: [b""])
    assert out.getvalue() == b""


def test_header_does_not_alias_entry_metadata() -> None:
    metadata = {"tile_size": 8}
    header, _ = build_header([PackEntry(1, "a", "GLYPH", "NONE", 0, metadata, 0)], [])
    metadata["tile_size"] = 16
    assert header["asset_table"][0]["metadata"] == {"tile_size": 8}


def test_companion_files_are_pretty_halves_of_the_header() -> None:
    header, _ = build_header([HUD, ACAO], PRELOAD)
    tooling = [
        {
            "root": "ui/hud",
            "asset_uuid": "u-1",
            "format": "GLYPH/indexed_v1",
            "inputs": [{"file": "a.png", "blake3": "00"}],
            "cache_key": "k",
            "pipeline": {},
        }
    ]
    files = companion_files(header, tooling)
    assert set(files) == set(OUTPUT_NAMES) - {"assets.pa"}
    assert OUTPUT_NAMES[0] == "assets.pa"
    for data in files.values():
        assert data.endswith(b"}\n") or data.endswith(b"]\n")
    assert json.loads(files["asset_table.json"]) == header["asset_table"]
    assert json.loads(files["preload.json"]) == header["preload"]
    assert files["preload.json"] == b'[\n  {\n    "asset_id": 1,\n    "slot": 0\n  }\n]\n'
    assert "ação".encode() in files["asset_table.json"]
    meta = json.loads(files["asset_table_metadata.json"])
    assert meta == {"assets": tooling, "schema_version": 1}
    assert files["asset_table_metadata.json"].index(b'"asset_uuid"') < files[
        "asset_table_metadata.json"
    ].index(b'"cache_key"')


json_scalars = st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=8), st.booleans())
metadata_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def packs(draw: st.DrawFn) -> tuple[list[PackEntry], dict[int, bytes], list[int]]:
    ids = sorted(draw(st.sets(st.integers(1, 10_000), max_size=6)))
    entries: list[PackEntry] = []
    payloads: dict[int, bytes] = {}
    for aid in ids:
        payload = draw(st.binary(max_size=70))
        entries.append(
            PackEntry(
                aid,
                draw(st.text(max_size=10)),
                draw(st.sampled_from(["GLYPH", "SOUNDS"])),
                "NONE",
                draw(st.integers(0, 2**33)),
                draw(st.dictionaries(st.text(max_size=6), metadata_values, max_size=3)),
                len(payload),
            )
        )
        payloads[aid] = payload
    cuts = draw(st.lists(st.integers(1, 17), max_size=5))
    return entries, payloads, cuts


@settings(deadline=None)
@given(packs())
def test_roundtrip_and_streaming_agree(
    pack: tuple[list[PackEntry], dict[int, bytes], list[int]],
) -> None:
    entries, payloads, cuts = pack

    def chunked(asset_id: int) -> Iterator[bytes]:
        data, pos = payloads[asset_id], 0
        for cut in cuts:
            yield data[pos : pos + cut]
            pos += cut
        yield data[pos:]

    out = io.BytesIO()
    layout = write_assets_pa(out, entries, [], chunked)
    data = assets_pa_bytes(entries, [], payloads)
    assert out.getvalue() == data
    assert layout.total_size == len(data)
    result = read_assets_pa(data)
    assert result.problems == []
    assert result.header == layout.header
    for e in entries:
        assert result.payload(e.asset_id) == payloads[e.asset_id]
