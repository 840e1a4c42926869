"""The `assets.pa` v1 writer (SPEC §5).

Layout: `[prelude, 24 bytes][canonical JSON header][zero padding][payload region]`. The
header is computed up front from payload *sizes* only, so the payloads themselves can be
streamed from the cache one asset at a time and never all sit in memory together.
"""

from __future__ import annotations

import copy
import io
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeGuard

import blake3

from .. import canonical_json

MAGIC = b"PMPA"
SCHEMA_VERSION = 1
PRELUDE_SIZE = 24
ALIGNMENT = 16
PRELUDE_STRUCT = struct.Struct("<4sIIIII")
U32_MAX = 0xFFFFFFFF
PRELOAD_SLOTS = 16


def align16(n: int) -> int:
    """Round up to the next multiple of 16 (payloads and the payload region start there)."""
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


@dataclass(frozen=True)
class PackEntry:
    """One build-set asset as the writer sees it: header facts plus its payload length."""

    asset_id: int
    asset_name: str
    bank_type: str
    codec: str
    decoded_size: int
    metadata: dict[str, Any]
    payload_size: int


@dataclass(frozen=True)
class PackLayout:
    """What was written: the header (dict and exact bytes), where payloads start, the file
    size and its blake3, so callers can report and verify without re-reading the file."""

    header: dict[str, Any]
    header_bytes: bytes
    payload_offset: int
    total_size: int
    blake3: str


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entries(entries: Sequence[PackEntry]) -> None:
    previous = 0
    for e in entries:
        if not _is_int(e.asset_id) or e.asset_id <= 0:
            raise ValueError(f"asset_id must be a positive int, got {e.asset_id!r}")
        if e.asset_id <= previous:
            raise ValueError(
                f"entries must be sorted by asset_id without duplicates "
                f"({e.asset_id} follows {previous})"
            )
        previous = e.asset_id
        for name in ("payload_size", "decoded_size"):
            size = getattr(e, name)
            if not _is_int(size) or size < 0:
                raise ValueError(f"asset {e.asset_id}: {name} must be an int >= 0, got {size!r}")
        for name in ("asset_name", "bank_type", "codec"):
            if not isinstance(getattr(e, name), str):
                raise ValueError(f"asset {e.asset_id}: {name} must be a string")
        if not isinstance(e.metadata, dict):
            raise ValueError(f"asset {e.asset_id}: metadata must be a dict")


def _check_preload(entries: Sequence[PackEntry], preload: Sequence[Mapping[str, int]]) -> None:
    """The writer never emits a file its own reader would reject."""
    bank_of = {e.asset_id: e.bank_type for e in entries}
    used: set[tuple[str, int]] = set()
    previous = 0
    for p in preload:
        if set(p) != {"asset_id", "slot"}:
            raise ValueError(f"preload entry must have exactly asset_id and slot: {dict(p)!r}")
        aid, slot = p["asset_id"], p["slot"]
        if not _is_int(aid) or aid <= previous:
            raise ValueError("preload must be sorted by asset_id without duplicates")
        previous = aid
        if aid not in bank_of:
            raise ValueError(f"preload names asset {aid}, which is not in the asset table")
        if not _is_int(slot) or not 0 <= slot < PRELOAD_SLOTS:
            raise ValueError(f"preload slot of asset {aid} must be 0..15, got {slot!r}")
        key = (bank_of[aid], slot)
        if key in used:
            raise ValueError(f"preload slot {slot} used twice in bank type {bank_of[aid]}")
        used.add(key)


def build_header(
    entries: Sequence[PackEntry], preload: Sequence[Mapping[str, int]]
) -> tuple[dict[str, Any], bytes]:
    """Compute payload offsets and return the header dict and its canonical bytes.

    Raises ValueError for unsorted/duplicate entries or an inconsistent preload list, and
    canonical_json.FloatNotAllowed when a float hides in some metadata.
    """
    _check_entries(entries)
    _check_preload(entries, preload)
    table: list[dict[str, Any]] = []
    cursor = 0
    for e in entries:
        offset = align16(cursor)
        table.append(
            {
                "asset_id": e.asset_id,
                "asset_name": e.asset_name,
                "bank_type": e.bank_type,
                "codec": e.codec,
                "decoded_size": e.decoded_size,
                "metadata": copy.deepcopy(e.metadata),
                "offset": offset,
                "size": e.payload_size,
            }
        )
        cursor = offset + e.payload_size
    header: dict[str, Any] = {
        "asset_table": table,
        "preload": [{"asset_id": p["asset_id"], "slot": p["slot"]} for p in preload],
    }
    header_bytes = canonical_json.compact(header)
    if PRELUDE_SIZE + len(header_bytes) > U32_MAX:
        raise ValueError("header too large for a u32 header_len")
    return header, header_bytes


def prelude(header_len: int) -> bytes:
    """The fixed 24-byte prelude for a header of `header_len` bytes."""
    return PRELUDE_STRUCT.pack(
        MAGIC, SCHEMA_VERSION, 0, 0, header_len, align16(PRELUDE_SIZE + header_len)
    )


def write_assets_pa(
    out: BinaryIO,
    entries: Sequence[PackEntry],
    preload: Sequence[Mapping[str, int]],
    payloads: Callable[[int], Iterable[bytes]],
) -> PackLayout:
    """Stream a whole `assets.pa` into `out`, pulling each payload's chunks by asset_id.

    Raises ValueError when a payload's byte count differs from its `payload_size`; `out`
    then holds a torn file, which is why callers write into a staging directory.
    """
    header, header_bytes = build_header(entries, preload)
    hasher = blake3.blake3()
    written = 0

    def emit(chunk: bytes | memoryview) -> None:
        nonlocal written
        out.write(chunk)
        hasher.update(chunk)
        written += memoryview(chunk).nbytes

    emit(prelude(len(header_bytes)))
    emit(header_bytes)
    payload_offset = align16(written)
    emit(bytes(payload_offset - written))

    for e, row in zip(entries, header["asset_table"], strict=True):
        pad = payload_offset + row["offset"] - written
        if pad:
            emit(bytes(pad))
        count = 0
        for chunk in payloads(e.asset_id):
            view = memoryview(chunk).cast("B")
            count += view.nbytes
            if count > e.payload_size:
                raise ValueError(
                    f"asset {e.asset_id}: payload is longer than its payload_size {e.payload_size}"
                )
            emit(view)
        if count != e.payload_size:
            raise ValueError(
                f"asset {e.asset_id}: payload has {count} bytes, expected {e.payload_size}"
            )

    return PackLayout(
        header=header,
        header_bytes=header_bytes,
        payload_offset=payload_offset,
        total_size=written,
        blake3=hasher.hexdigest(),
    )


def assets_pa_bytes(
    entries: Sequence[PackEntry],
    preload: Sequence[Mapping[str, int]],
    payloads: Mapping[int, bytes],
) -> bytes:
    """The whole file in memory, for tests and small packs."""
    buf = io.BytesIO()
    write_assets_pa(buf, entries, preload, lambda asset_id: (payloads[asset_id],))
    return buf.getvalue()
