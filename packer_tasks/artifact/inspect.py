"""Inspecting a packed file: structural validation plus extraction to viewable files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeGuard

from ..events.sink import new_operation_id
from ..families import FAMILIES
from ..models.diagnostic import Diagnostic, error
from ..models.results import InspectResult, Status
from .reader import _is_int, _show, pa_unreadable, read_assets_pa
from .viewable import contact_sheet, transparent_rgba


def inspect_file(path: Path, extract_dir: Path | None = None) -> InspectResult:
    """Read `path` with the strict reader; optionally render each asset into `extract_dir`."""
    op = new_operation_id()
    try:
        data = path.read_bytes()
    except OSError as exc:
        diag = pa_unreadable(str(path), str(exc.strerror or exc))
        return InspectResult(
            operation="inspect",
            operation_id=op,
            status=Status.FAILED,
            summary=diag.message,
            diagnostics=[diag],
            blockers=[diag],
            path=str(path),
        )
    read = read_assets_pa(data)
    extracted: list[str] = []
    problems = list(read.problems) + metadata_problems(read.asset_table)
    if extract_dir is not None and not any(p.blocking for p in problems):
        by_bank = {f.bank_type: f for f in FAMILIES.values()}
        for entry in read.asset_table:
            family = by_bank.get(entry.get("bank_type"))
            if family is None:
                continue
            folder = extract_dir / f"{entry['asset_id']:04d}_{_safe(entry['asset_name'])}"
            try:
                payload = read.payload(entry["asset_id"])
                files = family.extract(entry["metadata"], payload)
                if family.bank_type == "GLYPH":  # for people: transparency and a contact sheet
                    files = [
                        *transparent_rgba(files),
                        contact_sheet(entry["metadata"], payload),
                    ]
            except Exception as exc:  # the reader vouches for the metadata; a miss is a finding
                problems.append(
                    error(
                        "pa.extract_failed",
                        f"asset {entry['asset_id']} could not be extracted: {exc}",
                        "",
                    )
                )
                continue
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for f in files:
                    (folder / f.name).write_bytes(f.data)
                    extracted.append(str(folder / f.name))
            except OSError as exc:
                problems.append(
                    error(
                        "pa.extract_failed",
                        f"asset {entry['asset_id']} could not be written to {folder}: "
                        f"{exc.strerror or exc}",
                        "choose a writable --extract folder",
                    )
                )
    ok = not any(p.blocking for p in problems)
    prelude = read.prelude
    summary = (
        f"{path}: {_count(len(read.asset_table), 'asset')}, "
        f"{_count(len(read.preload), 'preload')}"
        + ("" if ok else f"; {_count(len(problems), 'problem')}")
    )
    return InspectResult(
        operation="inspect",
        operation_id=op,
        status=Status.SUCCESS if ok else Status.FAILED,
        summary=summary,
        diagnostics=problems,
        blockers=[p for p in problems if p.blocking],
        path=str(path),
        file_size=len(data),
        header_len=prelude.header_len if prelude else None,
        payload_offset=prelude.payload_offset if prelude else None,
        asset_table=[e for e in read.asset_table if isinstance(e, dict)],
        preload=[p for p in read.preload if isinstance(p, dict)],
        extracted=extracted,
    )


def _keys(keys: object) -> str:
    """Key names as words for a message (never a Python list repr)."""
    names = sorted(str(k)[:40] for k in keys) if isinstance(keys, dict | set | frozenset) else []
    return ", ".join(names[:12]) + (", …" if len(names) > 12 else "") if names else "none"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _safe(name: object) -> str:
    text = str(name)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40] or "asset"


# What the families' header metadata must hold (SPEC §4), restated here rather than imported:
# `inspect --extract` cuts payloads by these numbers, so the reader vouches for them.
_GLYPH_SIZE = 256 * 256 // 2 + 64 * 16 * 2  # 34816: pixels at 4 bpp + 64 palettes of 16 u16
_GLYPH_CAPACITY = {8: 1024, 16: 256, 32: 64}
_GLYPH_KEYS = frozenset(
    {"tile_size", "width", "height", "palette_count", "palette_authored", "tile_count"}
)
_SOUND_KEYS = frozenset({"channels", "sample_count", "samples"})
_SAMPLE_KEYS = frozenset({"offset", "frames", "sample_rate"})
_SAMPLE_LOOP_KEYS = frozenset({"loop_start", "loop_end"})
_MIN_RATE, _MAX_RATE = 8000, 48000


def metadata_problems(table: list[Any]) -> list[Diagnostic]:
    """Types and ranges of the metadata of the known bank types (SPEC §4), one problem per
    entry. The container reader treats metadata as opaque; extraction cuts payloads by it."""
    out: list[Diagnostic] = []
    for i, entry in enumerate(table):
        if not isinstance(entry, dict) or not isinstance(entry.get("metadata"), dict):
            continue  # the reader already reported the shape
        bank, meta, size = entry.get("bank_type"), entry["metadata"], entry.get("size")
        if not _is_int(size) or size < 0:
            continue
        if bank == "GLYPH":
            reason = _glyph_metadata_problem(meta, size)
        elif bank == "SOUNDS":
            reason = _sound_metadata_problem(meta, size)
        else:
            continue
        if reason is not None:
            aid = entry.get("asset_id")
            out.append(
                error(
                    "pa.bad_metadata",
                    f"asset_table[{i}].metadata ({bank}): {reason}",
                    "repack from the sources; the header does not describe its payload",
                ).located(aid if _is_int(aid) and aid > 0 else None, None)
            )
    return out


def _int_in(value: object, low: int, high: int) -> TypeGuard[int]:
    return _is_int(value) and low <= value <= high


def _glyph_metadata_problem(meta: dict[str, Any], size: int) -> str | None:
    if set(meta) != _GLYPH_KEYS:
        return f"keys are {_keys(meta)}; expected {_keys(_GLYPH_KEYS)}"
    tile_size = meta["tile_size"]
    if not (_is_int(tile_size) and tile_size in _GLYPH_CAPACITY):
        return f"tile_size {_show(tile_size)} is not 8, 16 or 32"
    for name, want in (("width", 256), ("height", 256), ("palette_count", 64)):
        if not (_is_int(meta[name]) and meta[name] == want):
            return f"{name} {_show(meta[name])} is not {want}"
    if not _int_in(meta["palette_authored"], 0, 64):
        return f"palette_authored {_show(meta['palette_authored'])} is not an int in 0..64"
    capacity = _GLYPH_CAPACITY[tile_size]
    if not _int_in(meta["tile_count"], 0, capacity):
        return f"tile_count {_show(meta['tile_count'])} is not an int in 0..{capacity}"
    if size != _GLYPH_SIZE:
        return f"a glyph bank payload is {_GLYPH_SIZE} bytes, not {size}"
    return None


def _sound_metadata_problem(meta: dict[str, Any], size: int) -> str | None:
    if set(meta) != _SOUND_KEYS:
        return f"keys are {_keys(meta)}; expected {_keys(_SOUND_KEYS)}"
    if not (_is_int(meta["channels"]) and meta["channels"] == 1):
        return f"channels {_show(meta['channels'])} is not 1"
    samples = meta["samples"]
    if not isinstance(samples, dict):
        return "samples is not an object"
    if not (_is_int(meta["sample_count"]) and meta["sample_count"] == len(samples)):
        return f"sample_count {_show(meta['sample_count'])} is not {len(samples)}"
    if set(samples) != {str(n) for n in range(len(samples))}:
        return "samples is not keyed by the sample ids 0..n-1 as decimal strings"
    for n in range(len(samples)):
        info = samples[str(n)]
        if not isinstance(info, dict):
            return f"samples[{n}] is not an object"
        keys = set(info)
        if not (_SAMPLE_KEYS <= keys <= _SAMPLE_KEYS | _SAMPLE_LOOP_KEYS):
            return f"samples[{n}] keys are {_show(sorted(keys))}"
        offset, frames, rate = info["offset"], info["frames"], info["sample_rate"]
        if not (_int_in(offset, 0, size) and offset % 2 == 0):
            return f"samples[{n}].offset {_show(offset)} is not an even int in 0..{size}"
        if not _int_in(frames, 1, (size - offset) // 2):
            return f"samples[{n}].frames {_show(frames)} do not fit the {size}-byte payload"
        if not _int_in(rate, _MIN_RATE, _MAX_RATE):
            return f"samples[{n}].sample_rate {_show(rate)} is not in {_MIN_RATE}..{_MAX_RATE}"
        if keys & _SAMPLE_LOOP_KEYS:
            start, end = info.get("loop_start"), info.get("loop_end")
            if not (_is_int(start) and _is_int(end) and 0 <= start < end <= frames):
                return f"samples[{n}] loop {_show(start)}..{_show(end)} is not within 0..{frames}"
    return None
