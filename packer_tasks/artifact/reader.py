"""A strict, independent `assets.pa` v1 reader (SPEC §5).

It shares only the canonical-JSON spelling with the writer, so a writer bug cannot hide behind
a matching reader bug. It is used by `validate`/`inspect` and by the tests, and is fed files
that may come from anywhere: it never raises on any input bytes. Every defect becomes a `pa.*`
problem in the result, and as much as can still be read is returned alongside.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ..canonical_json import compact, find_float
from ..models.diagnostic import Diagnostic, error, warning

_PRELUDE = struct.Struct("<4sIIIII")
_MAGIC = b"PMPA"
_ENTRY_KEYS = frozenset(
    {"asset_id", "asset_name", "bank_type", "offset", "size", "decoded_size", "codec", "metadata"}
)
_PRELOAD_KEYS = frozenset({"asset_id", "slot"})
_SLOTS = 16


def _align16(n: int) -> int:
    return (n + 15) // 16 * 16


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: object) -> str:
    """A short, never-failing rendering of a JSON value for messages (no deep repr)."""
    if value is None or isinstance(value, bool | int):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value[:40], ensure_ascii=False)
    return f"a JSON {'object' if isinstance(value, dict) else type(value).__name__}"


@dataclass(frozen=True)
class Prelude:
    """The 24 fixed bytes, exactly as found (validity is reported in the problems)."""

    magic: bytes
    schema_version: int
    flags: int
    reserved: int
    header_len: int
    payload_offset: int


@dataclass(frozen=True)
class ReadResult:
    """Everything a reader could make of the bytes, plus every problem it found."""

    prelude: Prelude | None
    header: dict[str, Any] | None
    problems: list[Diagnostic]
    _data: bytes = field(default=b"", repr=False)
    _spans: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing blocking was found: the runtime may load this file."""
        return not any(p.blocking for p in self.problems)

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def asset_table(self) -> list[Any]:
        table = (self.header or {}).get("asset_table")
        return table if isinstance(table, list) else []

    @property
    def preload(self) -> list[Any]:
        preload = (self.header or {}).get("preload")
        return preload if isinstance(preload, list) else []

    def payload(self, asset_id: int) -> bytes:
        """The payload bytes of one asset; KeyError if the asset or its bytes are unusable."""
        start, end = self._spans[asset_id]
        return self._data[start:end]


class _Problems:
    """Collects findings; one place decides their severity and wording shape."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, asset_id: int | None = None, hint: str = "") -> None:
        self.items.append(error(code, message, hint).located(asset_id, None))

    def advise(self, code: str, message: str, asset_id: int | None = None) -> None:
        self.items.append(warning(code, message).located(asset_id, None))


def pa_unreadable(path: str, reason: str) -> Diagnostic:
    """pa.unreadable: an assets.pa file cannot be read (here and in `inspect`)."""
    return error(
        "pa.unreadable",
        f"cannot read {path}: {reason}",
        "run `prometeu-packer pack` first, or pass the right path",
    )


def read_assets_pa_file(path: str | os.PathLike[str]) -> ReadResult:
    """Read and check a file on disk; an unreadable file is a problem, not an exception."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return ReadResult(None, None, [pa_unreadable(str(path), str(exc.strerror or exc))])
    return read_assets_pa(data)


def read_assets_pa(data: bytes) -> ReadResult:
    """Check every structural rule of SPEC §5 and return what was found."""
    data = bytes(data)
    problems = _Problems()
    if len(data) < _PRELUDE.size:
        problems.add("pa.truncated", f"file is {len(data)} bytes; the prelude alone is 24")
        return ReadResult(None, None, problems.items, data)

    prelude = Prelude(*_PRELUDE.unpack_from(data))
    _check_prelude(prelude, problems)

    header_end = _PRELUDE.size + prelude.header_len
    if header_end > len(data):
        problems.add(
            "pa.header_out_of_bounds",
            f"header_len {prelude.header_len} runs past the end of the {len(data)}-byte file",
        )
        return ReadResult(prelude, None, problems.items, data)

    value, parsed = _parse_header(data[_PRELUDE.size : header_end], problems)

    base: int | None = None
    if prelude.payload_offset > len(data):
        problems.add(
            "pa.truncated",
            f"payload_offset {prelude.payload_offset} is past the end of the {len(data)}-byte file",
        )
    elif prelude.payload_offset >= header_end:
        base = prelude.payload_offset
        if data.count(0, header_end, base) != base - header_end:
            problems.add("pa.nonzero_padding", "padding between header and payloads is not zero")

    if not parsed:
        return ReadResult(prelude, None, problems.items, data)
    if not isinstance(value, dict):
        problems.add("pa.header_shape", f"header is a JSON {type(value).__name__}, not an object")
        return ReadResult(prelude, None, problems.items, data)

    header: dict[str, Any] = value
    if set(header) != {"asset_table", "preload"}:
        problems.add(
            "pa.header_shape",
            f"header keys are {', '.join(sorted(k[:40] for k in header)[:12]) or 'none'}; "
            "exactly asset_table and preload are allowed",
        )
    table = header.get("asset_table")
    preload = header.get("preload")
    if not isinstance(table, list):
        problems.add("pa.header_shape", "asset_table is missing or not an array")
        table = []
    if not isinstance(preload, list):
        problems.add("pa.header_shape", "preload is missing or not an array")
        preload = []

    layout, bank_of = _check_entries(table, problems)
    spans = _check_layout(data, base, layout, problems) if base is not None else {}
    _check_preload(preload, bank_of, problems)
    return ReadResult(prelude, header, problems.items, data, spans)


def _check_prelude(p: Prelude, problems: _Problems) -> None:
    if p.magic != _MAGIC:
        problems.add("pa.bad_magic", f"magic is {p.magic!r}, expected b'PMPA'")
    if p.schema_version != 1:
        problems.add(
            "pa.bad_schema_version",
            f"schema_version is {p.schema_version}; this reader knows only 1",
        )
    if p.flags != 0:
        problems.add("pa.bad_flags", f"flags is {p.flags:#x}; v1 requires 0")
    if p.reserved != 0:
        problems.add("pa.bad_reserved", f"reserved is {p.reserved:#x}; v1 requires 0")
    expected = _align16(_PRELUDE.size + p.header_len)
    if p.payload_offset != expected:
        problems.add(
            "pa.bad_payload_offset",
            f"payload_offset is {p.payload_offset}; align16(24 + header_len) is {expected}",
        )


def _parse_header(raw: bytes, problems: _Problems) -> tuple[Any, bool]:
    """Decode the header; report non-UTF-8, non-JSON, floats and non-canonical spelling."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add("pa.header_not_utf8", f"header is not valid UTF-8 ({exc.reason})")
        return None, False
    try:
        value = json.loads(text)
        where = find_float(value)
    except (ValueError, RecursionError) as exc:
        problems.add("pa.header_not_json", f"header is not valid JSON ({exc})")
        return None, False
    if where is not None:
        problems.add("pa.header_float", f"header holds a float at {where}; v1 forbids floats")
        return value, True
    try:
        canonical: bytes | None = compact(value)
    except (ValueError, RecursionError):
        canonical = None  # e.g. lone surrogates from \ud800 escapes cannot be UTF-8 at all
    if canonical != raw:
        problems.add(
            "pa.header_not_canonical",
            "header is not canonical JSON (sorted keys, no whitespace, UTF-8 unescaped)",
        )
    return value, True


@dataclass(frozen=True)
class _Span:
    asset_id: int | None
    offset: int
    size: int


def _check_entries(
    table: list[Any], problems: _Problems
) -> tuple[list[_Span] | None, dict[int, str]]:
    """Per-entry shape and id order. Returns the payload spans to lay out (None when some
    entry's offset or size is unusable, so layout checks would only add noise) and the bank
    type of each well-formed asset id, for the preload checks."""
    spans: list[_Span] | None = []
    bank_of: dict[int, str] = {}
    previous_id = 0
    for i, entry in enumerate(table):
        if not isinstance(entry, dict):
            problems.add("pa.entry_shape", f"asset_table[{i}] is not an object")
            spans = None
            continue
        aid_raw = entry.get("asset_id")
        aid = aid_raw if _is_int(aid_raw) and aid_raw > 0 else None
        if set(entry) != _ENTRY_KEYS:
            missing = sorted(_ENTRY_KEYS - set(entry))
            extra = sorted(set(entry) - _ENTRY_KEYS)
            problems.add(
                "pa.entry_shape",
                f"asset_table[{i}] keys: missing {', '.join(missing) or 'none'}, "
                f"unexpected {', '.join(k[:40] for k in extra[:12]) or 'none'}",
                aid,
            )
        if aid is None:
            problems.add(
                "pa.bad_asset_id", f"asset_table[{i}].asset_id {_show(aid_raw)} is not an int > 0"
            )
        else:
            if aid <= previous_id:
                problems.add(
                    "pa.entry_order",
                    f"asset_table[{i}].asset_id {aid} does not increase (after {previous_id})",
                    aid,
                )
            previous_id = max(previous_id, aid)
        for name in ("asset_name", "bank_type", "codec"):
            if name in entry and not isinstance(entry[name], str):
                problems.add("pa.entry_shape", f"asset_table[{i}].{name} is not a string", aid)
        if "metadata" in entry and not isinstance(entry["metadata"], dict):
            problems.add("pa.entry_shape", f"asset_table[{i}].metadata is not an object", aid)
        bad_numbers: set[str] = set()
        for name in ("offset", "size", "decoded_size"):
            number = entry.get(name)
            if not (_is_int(number) and number >= 0):
                bad_numbers.add(name)
                if name in entry:
                    problems.add(
                        "pa.bad_size",
                        f"asset_table[{i}].{name} {_show(number)} is not an int >= 0",
                        aid,
                    )
        numbers_ok = not bad_numbers & {"offset", "size"}
        if aid is not None and isinstance(entry.get("bank_type"), str):
            bank_of.setdefault(aid, entry["bank_type"])
        if numbers_ok and spans is not None:
            spans.append(_Span(aid, entry["offset"], entry["size"]))
        else:
            spans = None
    return spans, bank_of


def _check_layout(
    data: bytes, base: int, layout: list[_Span] | None, problems: _Problems
) -> dict[int, tuple[int, int]]:
    """Alignment, overlap, bounds, zero gaps and the exact file end; returns payload spans."""
    found: dict[int, tuple[int, int]] = {}
    region = len(data) - base
    cursor = 0
    for span in layout or []:
        aid = span.asset_id
        if span.offset % 16:
            problems.add("pa.misaligned_offset", f"offset {span.offset} is not 16-aligned", aid)
        if span.offset < cursor:
            problems.add(
                "pa.overlap",
                f"offset {span.offset} starts before the previous payload ends ({cursor})",
                aid,
            )
        else:
            gap_end = min(span.offset, region)
            if gap_end > cursor and data.count(0, base + cursor, base + gap_end) != (
                gap_end - cursor
            ):
                problems.add("pa.nonzero_gap", f"gap before offset {span.offset} is not zero", aid)
            if span.offset != _align16(cursor):
                problems.advise(
                    "pa.gap_not_minimal",
                    f"offset {span.offset}; the next aligned position was {_align16(cursor)}",
                    aid,
                )
        end = span.offset + span.size
        if end > region:
            problems.add(
                "pa.payload_out_of_bounds",
                f"payload [{span.offset}, {end}) runs past the payload region ({region} bytes)",
                aid,
            )
        elif aid is not None:
            found.setdefault(aid, (base + span.offset, base + end))
        cursor = max(cursor, end)
    if layout is not None and cursor < region:
        problems.add(
            "pa.trailing_bytes",
            f"{region - cursor} bytes follow the last payload; the file must end there",
        )
    return found


def _check_preload(preload: list[Any], bank_of: dict[int, str], problems: _Problems) -> None:
    """Sorted by asset_id, every asset known, slots 0-15 and unique per bank type."""
    previous = 0
    holders: dict[tuple[str, int], int] = {}
    for i, item in enumerate(preload):
        if not isinstance(item, dict) or set(item) != _PRELOAD_KEYS:
            problems.add("pa.preload_shape", f"preload[{i}] is not {{asset_id, slot}}")
            continue
        aid, slot = item["asset_id"], item["slot"]
        if not (_is_int(aid) and _is_int(slot)):
            problems.add("pa.preload_shape", f"preload[{i}] asset_id and slot must be ints")
            continue
        if aid <= previous:
            problems.add("pa.preload_order", f"preload[{i}].asset_id {aid} does not increase", aid)
        previous = max(previous, aid)
        bank = bank_of.get(aid)
        if bank is None:
            problems.add(
                "pa.preload_unknown_asset", f"preload names asset {aid}, not in asset_table", aid
            )
            continue
        if not 0 <= slot < _SLOTS:
            problems.add("pa.preload_slot_range", f"preload slot {slot} is outside 0..15", aid)
            continue
        other = holders.setdefault((bank, slot), aid)
        if other != aid:
            problems.add(
                "pa.preload_slot_clash",
                f"{bank} preload slot {slot} is used by assets {other} and {aid}",
                aid,
            )
