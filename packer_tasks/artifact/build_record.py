"""What `build/` holds (SPEC §8 step 6): one record, published with the outputs.

`build/.prometeu-build.json` names the build key — a digest over everything that decides
the outputs' bytes (format versions, the build set with names, roots, uuids and cache keys,
the preload table) — and the size and blake3 of each output file. Every entry point decides
"up to date" by recomputing the key from the current sources and checking the files that
are actually in `build/` against the record; no entry point trusts a memory of its own.
The record holds no timestamps or operation ids, so it is as deterministic as the outputs.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometeu_cache.digests import DigestMemo, stat_key
from prometeu_cache.keys import blake3_file, blake3_hex, canonical_bytes

from ..canonical_json import pretty
from ..format_versions import BUILD_FORMAT_VERSION
from ..workspace.project import RECORD_FILE as RECORD_FILE
from .companions import OUTPUT_NAMES


@dataclass(frozen=True)
class BuiltAsset:
    """The part of one asset that decides its share of the outputs."""

    asset_id: int
    name: str
    root: str
    asset_uuid: str
    cache_key: str


def build_key(
    assets: Sequence[BuiltAsset], preload: Sequence[Mapping[str, int]], payload_version: int
) -> str:
    """Digest of everything that decides the bytes of the four outputs. A payload's bytes
    and header metadata are decided by its cache key; the rest is named here."""
    material = {
        "build_format_version": BUILD_FORMAT_VERSION,
        "payload_format_version": payload_version,
        "assets": [
            [a.asset_id, a.name, a.root, a.asset_uuid, a.cache_key]
            for a in sorted(assets, key=lambda a: a.asset_id)
        ],
        "preload": [dict(p) for p in preload],
    }
    return blake3_hex(canonical_bytes(material))


def record_bytes(key: str, outputs: Mapping[str, tuple[int, str]]) -> bytes:
    """The record for a build whose outputs have these (size, blake3)."""
    return pretty(
        {
            "build_key": key,
            "format": BUILD_FORMAT_VERSION,
            "outputs": {n: {"blake3": d, "size": s} for n, (s, d) in sorted(outputs.items())},
        }
    )


@dataclass(frozen=True)
class BuildRecord:
    build_key: str
    outputs: dict[str, tuple[int, str]]


def parse_record(data: bytes) -> BuildRecord | None:
    """The record, or None for anything that is not a well-formed one (never raises)."""
    try:
        raw: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("format") != BUILD_FORMAT_VERSION:
        return None
    key, files = raw.get("build_key"), raw.get("outputs")
    if not isinstance(key, str) or not isinstance(files, dict) or set(files) != set(OUTPUT_NAMES):
        return None
    outputs: dict[str, tuple[int, str]] = {}
    for name, fact in files.items():
        if not isinstance(fact, dict):
            return None
        size, digest = fact.get("size"), fact.get("blake3")
        if type(size) is not int or not isinstance(digest, str):
            return None
        outputs[name] = (size, digest)
    return BuildRecord(key, outputs)


def read_record(build_dir: Path) -> BuildRecord | None:
    try:
        return parse_record((build_dir / RECORD_FILE).read_bytes())
    except OSError:
        return None


def output_label(name: str) -> str:
    """Digest-memo label of a build output (project-relative)."""
    return f"build/{name}"


def stale_reason(
    build_dir: Path, current_key: Callable[[], str | None], memo: DigestMemo
) -> str | None:
    """Why `build/` does not hold the build of the current sources (None when it does):
    the record is missing or names another key, or a file differs from what the record
    says. The key is asked for only when there is a record to compare it with (keying
    reads every input; a first pack keys them as it materializes). A file whose stat
    facts the memo knows is not read; any other is hashed."""
    record = read_record(build_dir)
    if record is None:
        return "build/ holds no valid build record"
    key = current_key()
    if key is None:
        return "an input cannot be read"
    if record.build_key != key:
        return "the sources changed since build/ was written"
    for name, (size, digest) in sorted(record.outputs.items()):
        problem = output_problem(build_dir, name, size, digest, memo)
        if problem is not None:
            return problem
    return None


def output_problem(
    build_dir: Path, name: str, size: int, digest: str, memo: DigestMemo
) -> str | None:
    """Why build/<name> is not the file of this size and blake3 (None when it is). A file
    whose stat facts the memo knows is not read; any other is hashed once."""
    path = build_dir / name
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return f"build/{name} is missing"
    if not _is_regular(st) or st.st_size != size:
        return f"build/{name} is not the file the build wrote"
    skey = stat_key(output_label(name), st)
    known = memo.get(skey)
    if known is None:
        try:
            known = blake3_file(path)
        except OSError:
            return f"build/{name} cannot be read"
        memo.put(skey, known)
    if known != digest:
        return f"build/{name} was changed after the build wrote it"
    return None


def remember_outputs(
    build_dir: Path, outputs: Mapping[str, tuple[int, str]], memo: DigestMemo
) -> None:
    """After a publication: the digests of the files now in build/ are known; remember
    them by stat so the next up-to-date check does not read the outputs again."""
    for name, (size, digest) in outputs.items():
        try:
            st = os.stat(build_dir / name, follow_symlinks=False)
        except OSError:
            continue
        if _is_regular(st) and st.st_size == size:
            memo.put(stat_key(output_label(name), st), digest)


def _is_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)
