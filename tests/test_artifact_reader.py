"""The strict assets.pa reader: round trip, one corrupted file per problem code, and fuzzing."""

from __future__ import annotations

import contextlib
import json
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import packer_tasks.artifact.reader as reader_module
from packer_tasks.artifact import (
    PackEntry,
    ReadResult,
    assets_pa_bytes,
    read_assets_pa,
    read_assets_pa_file,
)
from packer_tasks.canonical_json import compact

ENTRIES = [
    PackEntry(1, "hud", "GLYPH", "NONE", 6, {"tile_size": 8}, 3),
    PackEntry(3, "ação", "SOUNDS", "NONE", 4, {"channels": 1}, 4),
]
PAYLOADS = {1: b"\x01\x02\x03", 3: b"\xaa\xbb\xcc\xdd"}
PRELOAD = [{"asset_id": 1, "slot": 0}]
VALID = assets_pa_bytes(ENTRIES, PRELOAD, PAYLOADS)
REGION = b"\x01\x02\x03" + bytes(13) + b"\xaa\xbb\xcc\xdd"


def pa_file(header: bytes | Any, region: bytes = b"", **fields: int) -> bytes:
    """A file with a correct prelude around any header (dict → canonical) and region."""
    raw = header if isinstance(header, bytes) else compact(header)
    values = {
        "schema_version": 1,
        "flags": 0,
        "reserved": 0,
        "header_len": len(raw),
        "payload_offset": (24 + len(raw) + 15) // 16 * 16,
    }
    values.update(fields)
    head = struct.pack(
        "<4sIIIII",
        b"PMPA",
        values["schema_version"],
        values["flags"],
        values["reserved"],
        values["header_len"],
        values["payload_offset"],
    )
    return head + raw + bytes((24 + len(raw) + 15) // 16 * 16 - 24 - len(raw)) + region


def entry(asset_id: Any, offset: Any, size: Any, bank: str = "GLYPH", **extra: Any) -> Any:
    row = {
        "asset_id": asset_id,
        "asset_name": f"a{asset_id}",
        "bank_type": bank,
        "codec": "NONE",
        "decoded_size": 0,
        "metadata": {},
        "offset": offset,
        "size": size,
    }
    row.update(extra)
    return row


def table(*rows: Any, preload: Any = ()) -> dict[str, Any]:
    return {"asset_table": list(rows), "preload": list(preload)}


def patched(data: bytes, at: int, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into("<I", buf, at, value)
    return bytes(buf)


def flipped(data: bytes, at: int, byte: int) -> bytes:
    buf = bytearray(data)
    buf[at] = byte
    return bytes(buf)


TWO = (entry(1, 0, 3), entry(2, 16, 4))
TWO_REGION = b"\x01\x02\x03" + bytes(13) + b"\x04\x05\x06\x07"

CORRUPTIONS: dict[str, list[bytes]] = {
    "pa.truncated": [VALID[:10], b"", VALID[: 24 + 323]],
    "pa.bad_magic": [b"PMPX" + VALID[4:]],
    "pa.bad_schema_version": [patched(VALID, 4, 2)],
    "pa.bad_flags": [patched(VALID, 8, 1)],
    "pa.bad_reserved": [patched(VALID, 12, 0x80000000)],
    "pa.header_out_of_bounds": [patched(VALID, 16, 0xFFFFFFFF), VALID[:100]],
    "pa.bad_payload_offset": [patched(VALID, 20, 368), patched(VALID, 20, 0)],
    "pa.nonzero_padding": [flipped(VALID, 351, 7)],
    "pa.header_not_utf8": [pa_file(b'{"asset_table":[],"preload":[\xff]}')],
    "pa.header_not_json": [
        pa_file(b'{"asset_table":[],'),
        pa_file(b"[" * 100_000 + b"]" * 100_000),
        pa_file(b'{"asset_table":[],"preload":[' + b"9" * 5000 + b"]}"),
    ],
    "pa.header_float": [
        pa_file(b'{"asset_table":[],"preload":[],"x":1.0}'),
        pa_file(b'{"asset_table":[],"preload":[NaN]}'),
        pa_file(json.dumps(table(entry(1, 0, 3.0))).encode(), b"abc"),
    ],
    "pa.header_not_canonical": [
        pa_file(b'{"preload":[],"asset_table":[]}'),
        pa_file(b'{"asset_table": [], "preload": []}'),
        pa_file(b'{"asset_table":[],"preload":[],"preload":[]}'),
        pa_file(b'{"asset_table":[{"asset_name":"\\u00e7"}],"preload":[]}'),
        pa_file(b'{"asset_table":[],"preload":["\\ud800"]}'),
    ],
    "pa.header_shape": [
        pa_file([]),
        pa_file(None),
        pa_file({"asset_table": []}),
        pa_file({**table(), "extra": 1}),
        pa_file({"asset_table": {}, "preload": 0}),
    ],
    "pa.entry_shape": [
        pa_file(table(7)),
        pa_file(table(entry(1, 0, 0, extra=1))),
        pa_file(table({"asset_id": 1, "offset": 0, "size": 0})),
        pa_file(table(entry(1, 0, 0, asset_name=5, metadata=[]))),
    ],
    "pa.bad_asset_id": [
        pa_file(table(entry(0, 0, 0))),
        pa_file(table(entry("1", 0, 0))),
        pa_file(table(entry(True, 0, 0))),
    ],
    "pa.entry_order": [
        pa_file(table(entry(2, 0, 0), entry(1, 0, 0))),
        pa_file(table(entry(1, 0, 0), entry(1, 0, 0))),
    ],
    "pa.bad_size": [
        pa_file(table(entry(1, 0, -1))),
        pa_file(table(entry(1, 0, 0, decoded_size=None))),
        pa_file(table(entry(1, "0", 0))),
    ],
    "pa.misaligned_offset": [pa_file(table(entry(1, 8, 3)), bytes(8) + b"abc")],
    "pa.overlap": [pa_file(table(entry(1, 0, 3), entry(2, 0, 4)), b"\x01\x02\x03\x04")],
    "pa.nonzero_gap": [
        pa_file(table(*TWO), flipped(TWO_REGION, 10, 1)),
        pa_file(table(entry(1, 16, 1)), b"\x01" + bytes(15) + b"x"),
    ],
    "pa.payload_out_of_bounds": [
        pa_file(table(*TWO), TWO_REGION[:-1]),
        pa_file(table(entry(1, 0, 2**40)), b"x"),
    ],
    "pa.trailing_bytes": [VALID + b"\x00", pa_file(table(), b"\x00" * 16)],
    "pa.preload_shape": [
        pa_file(table(*TWO, preload=[{"asset_id": 1}]), TWO_REGION),
        pa_file(table(*TWO, preload=[{"asset_id": 1, "slot": "0"}]), TWO_REGION),
        pa_file(table(*TWO, preload=[[1, 0]]), TWO_REGION),
    ],
    "pa.preload_order": [
        pa_file(
            table(*TWO, preload=[{"asset_id": 2, "slot": 0}, {"asset_id": 1, "slot": 1}]),
            TWO_REGION,
        ),
        pa_file(
            table(*TWO, preload=[{"asset_id": 1, "slot": 0}, {"asset_id": 1, "slot": 1}]),
            TWO_REGION,
        ),
    ],
    "pa.preload_unknown_asset": [
        pa_file(table(*TWO, preload=[{"asset_id": 5, "slot": 0}]), TWO_REGION)
    ],
    "pa.preload_slot_range": [
        pa_file(table(*TWO, preload=[{"asset_id": 1, "slot": 16}]), TWO_REGION),
        pa_file(table(*TWO, preload=[{"asset_id": 1, "slot": -1}]), TWO_REGION),
    ],
    "pa.preload_slot_clash": [
        pa_file(
            table(*TWO, preload=[{"asset_id": 1, "slot": 3}, {"asset_id": 2, "slot": 3}]),
            TWO_REGION,
        )
    ],
}

WARNINGS: dict[str, list[bytes]] = {
    "pa.gap_not_minimal": [
        pa_file(table(entry(1, 0, 3), entry(2, 32, 4)), b"abc" + bytes(29) + b"defg"),
        pa_file(table(entry(1, 16, 1)), bytes(16) + b"x"),
    ],
}


def test_valid_file_reads_back_without_problems() -> None:
    result = read_assets_pa(VALID)
    assert result.problems == []
    assert result.ok
    assert result.prelude is not None
    assert (result.prelude.magic, result.prelude.schema_version) == (b"PMPA", 1)
    assert (result.prelude.header_len, result.prelude.payload_offset) == (323, 352)
    assert result.header is not None
    assert [row["asset_name"] for row in result.asset_table] == ["hud", "ação"]
    assert result.preload == PRELOAD
    assert result.payload(1) == PAYLOADS[1]
    assert result.payload(3) == PAYLOADS[3]
    with pytest.raises(KeyError):
        result.payload(2)


def test_hand_built_valid_file_matches_writer() -> None:
    assert read_assets_pa(pa_file(table(*TWO), TWO_REGION)).problems == []
    assert pa_file(json.loads(VALID[24 : 24 + 323]), REGION) == VALID


def test_file_reader(tmp_path: Path) -> None:
    path = tmp_path / "assets.pa"
    path.write_bytes(VALID)
    assert read_assets_pa_file(path).problems == []
    assert read_assets_pa_file(str(path)).payload(3) == PAYLOADS[3]
    missing = read_assets_pa_file(tmp_path / "nope.pa")
    assert missing.codes == ["pa.unreadable"]
    assert not missing.ok


@pytest.mark.parametrize(
    ("code", "data"),
    [(code, data) for code, files in CORRUPTIONS.items() for data in files],
    ids=[f"{code}-{i}" for code, files in CORRUPTIONS.items() for i in range(len(files))],
)
def test_each_corruption_is_reported(code: str, data: bytes) -> None:
    result = read_assets_pa(data)
    assert code in result.codes, result.codes
    assert not result.ok
    found = [p for p in result.problems if p.code == code]
    assert all(p.blocking and p.message for p in found)


@pytest.mark.parametrize(
    "data", [data for files in WARNINGS.values() for data in files], ids=["gap", "first"]
)
def test_non_minimal_gap_is_advice_only(data: bytes) -> None:
    result = read_assets_pa(data)
    assert result.codes == ["pa.gap_not_minimal"]
    assert result.ok
    assert result.payload(1)[-1:] == b"x" or result.payload(1) == b"abc"


def test_problems_name_the_asset_when_known() -> None:
    data = pa_file(table(entry(1, 0, 3), entry(2, 8, 4)), b"abc" + bytes(5) + b"defg")
    (problem,) = [p for p in read_assets_pa(data).problems if p.code == "pa.misaligned_offset"]
    assert problem.asset_id == 2


def test_every_reader_code_has_a_corruption_test() -> None:
    source = Path(reader_module.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'"(pa\.[a-z_0-9]+)"', source))
    assert codes == set(CORRUPTIONS) | set(WARNINGS) | {"pa.unreadable"}


# Fuzzing: whatever the bytes, the reader answers with problems, never an exception.


def check(data: bytes) -> ReadResult:
    result = read_assets_pa(data)
    assert isinstance(result, ReadResult)
    assert all(p.code.startswith("pa.") for p in result.problems)
    for row in result.asset_table:
        if isinstance(row, dict) and isinstance(row.get("asset_id"), int):
            with contextlib.suppress(KeyError):
                result.payload(row["asset_id"])
    return result


@settings(deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = check(data)
    if len(data) < 24:
        assert result.codes == ["pa.truncated"]


@settings(deadline=None)
@given(
    st.binary(max_size=300),
    st.binary(max_size=100),
    st.integers(0, 2**32 - 1) | st.none(),
    st.integers(0, 2**32 - 1) | st.none(),
)
def test_valid_prelude_around_arbitrary_header_never_raises(
    header: bytes, tail: bytes, header_len: int | None, payload_offset: int | None
) -> None:
    fields: dict[str, int] = {}
    if header_len is not None:
        fields["header_len"] = header_len
    if payload_offset is not None:
        fields["payload_offset"] = payload_offset
    check(pa_file(header, tail, **fields))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["asset_table", "preload", "asset_id", "offset", "size", "slot", "metadata", "x"]
            )
            | st.text(max_size=4),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(json_values, st.binary(max_size=80), st.booleans())
def test_arbitrary_json_headers_never_raise(value: Any, tail: bytes, canonical: bool) -> None:
    raw = json.dumps(value, sort_keys=canonical, separators=(",", ":") if canonical else None)
    check(pa_file(raw.encode(), tail))


rows = st.builds(
    entry,
    st.integers(-2, 6) | st.text(max_size=2),
    st.integers(-20, 90),
    st.integers(-2, 40),
    st.sampled_from(["GLYPH", "SOUNDS"]),
)
preloads = st.lists(
    st.fixed_dictionaries({"asset_id": st.integers(-1, 7), "slot": st.integers(-1, 17)}),
    max_size=4,
)


@settings(deadline=None)
@given(st.lists(rows, max_size=5), preloads, st.binary(max_size=120))
def test_plausible_but_wrong_tables_never_raise(
    table_rows: list[Any], preload: list[Any], region: bytes
) -> None:
    check(pa_file(table(*table_rows, preload=preload), region))


Mutation = Callable[[bytes], bytes]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "u32"]))
    at = draw(st.integers(0, len(VALID) - 1))
    if kind == "flip":
        byte = draw(st.integers(0, 255))
        return lambda d: d[:at] + bytes([byte]) + d[at + 1 :]
    if kind == "truncate":
        return lambda d: d[:at]
    if kind == "insert":
        extra = draw(st.binary(min_size=1, max_size=8))
        return lambda d: d[:at] + extra + d[at:]
    if kind == "delete":
        n = draw(st.integers(1, 8))
        return lambda d: d[:at] + d[at + n :]
    field = draw(st.sampled_from([4, 8, 12, 16, 20]))
    value = draw(st.integers(0, 2**32 - 1))
    return lambda d: d[:field] + struct.pack("<I", value) + d[field + 4 :]


@settings(max_examples=300, deadline=None)
@given(st.lists(mutations(), min_size=1, max_size=4))
def test_mutated_valid_files_never_raise(steps: list[Mutation]) -> None:
    data = VALID
    for step in steps:
        data = step(data)
    check(data)
