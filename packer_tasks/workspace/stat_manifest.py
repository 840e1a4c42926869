"""The stat manifest: the stat facts of every file the current build was made from and of
every file it wrote, so that "nothing changed" costs one `stat` per file and nothing else.

The full check (recompute the build key from the sources, compare it and build/'s files
with the build record) stays the authority. After it has said "build/ is current", the
service writes this manifest; a later run that finds every fact unchanged (size, mtime,
ctime, inode of every source and output) may answer "current" without parsing or hashing
anything. Any difference, a missing or malformed manifest, an interrupted publication or
relocation, or a fact too fresh to trust (a same-tick rewrite could hide behind it) sends
the caller to the full check. It is never a memory of content, only of "nothing moved".

Stdlib only: `doit pack` reads it before it imports the rest of the packer.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import prometeu_cache.digests as digests
from prometeu_cache.keys import blake3_file

from .project import ASSETS_DIR, BUILD_DIR, META_DIR, RECORD_FILE, STAGING_DIR

MANIFEST_FILE = ".build-manifest.json"
MANIFEST_FORMAT = 3
JOURNAL_FILE = ".relocation.json"

Facts = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
# The clock freshness is judged by (a test may pin it).
clock = time.time_ns


@dataclass(frozen=True)
class StatManifest:
    versions: dict[str, Any]
    assets: int  # build-set size, for the "up to date" line
    sources: tuple[str, ...]  # project-relative POSIX paths the build was made from
    facts: dict[str, Facts]  # sources and outputs
    build_key: str
    # Outputs written moments before the manifest: their stat facts could hide a same-tick
    # rewrite, so their content is checked against the build record instead.
    recheck: tuple[str, ...] = ()


def manifest_path(root: Path) -> Path:
    return root / ASSETS_DIR / META_DIR / MANIFEST_FILE


def _facts(root: str, rel: str) -> Facts | None:
    try:
        st = os.stat(os.path.join(root, rel))
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _fresh(facts: Facts, now: int) -> bool:
    """The digest memo's racy rule, judged at `now` (the memo's window)."""
    return now - max(facts[1], facts[2]) < digests.RACY_NS


def read_manifest(root: Path, versions: Mapping[str, Any]) -> StatManifest | None:
    """The manifest written for these format versions, or None (never raises)."""
    try:
        raw: Any = json.loads(manifest_path(root).read_bytes())
        if raw.get("format") != MANIFEST_FORMAT or raw.get("versions") != dict(versions):
            return None
        paths, flat, n_sources = raw["paths"], raw["facts"], raw["sources"]
        # A value that is not an int can never equal a stat fact: no need to check types.
        if len(flat) != 4 * len(paths):
            return None
        it = iter(flat)
        facts = {str(p): (a, b, c, d) for p, a, b, c, d in zip(paths, it, it, it, it, strict=True)}
        recheck = tuple(str(r) for r in raw["recheck"])
        if len(facts) != len(paths) or not 0 <= n_sources <= len(paths):
            return None
        if not set(recheck) <= set(paths[n_sources:]):
            return None
        return StatManifest(
            dict(versions),
            int(raw["assets"]),
            tuple(paths[:n_sources]),
            facts,
            str(raw["build_key"]),
            recheck,
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def unchanged(root: Path, manifest: StatManifest) -> bool:
    """True when every recorded file still has exactly its recorded stat facts, the
    outputs to re-check still hold what the build record says, and no publication or
    relocation is half done."""
    base = str(root)
    for pending in (
        os.path.join(BUILD_DIR, STAGING_DIR),
        os.path.join(ASSETS_DIR, META_DIR, JOURNAL_FILE),
    ):
        if os.path.lexists(os.path.join(base, pending)):
            return False
    stat = os.stat
    try:
        for rel, (size, mtime, ctime, ino) in manifest.facts.items():
            st = stat(f"{base}/{rel}")
            if (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) != (size, mtime, ctime, ino):
                return False
    except (OSError, ValueError):
        return False
    if manifest.recheck:
        if not _content_matches(root, manifest):
            return False
        _settle(root, manifest)
    return True


def _content_matches(root: Path, manifest: StatManifest) -> bool:
    """The re-checked outputs against the build record, which must name the manifest's
    build key. The record is read here, not by `artifact.build_record`: that package
    loads pydantic, which a no-op never needs."""
    try:
        record: Any = json.loads((root / BUILD_DIR / RECORD_FILE).read_bytes())
        if record.get("build_key") != manifest.build_key:
            return False
        outputs = record["outputs"]
        for rel in manifest.recheck:
            name = rel.rsplit("/", 1)[-1]
            if name == RECORD_FILE:
                continue  # its content was just read and names the right build
            want, path = outputs[name], os.path.join(root, rel)
            if os.path.getsize(path) != want["size"] or blake3_file(path) != want["blake3"]:
                return False
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def _settle(root: Path, manifest: StatManifest) -> None:
    """Once the re-checked outputs are no longer fresh, drop the re-check (one hash, not
    one per run)."""
    now = clock()
    if any(_fresh(manifest.facts[rel], now) for rel in manifest.recheck):
        return
    _store(root, replace(manifest, recheck=()))


def write_manifest(
    root: Path,
    versions: Mapping[str, Any],
    build: tuple[str, int],
    sources: Iterable[str],
    outputs: Iterable[str],
    expected: Mapping[str, Facts] | None = None,
) -> bool:
    """Record the current stat facts of `sources` and `outputs` (project-relative) for the
    build (key, build-set size) that build/ was just found to hold. Refused (and any older
    manifest removed) when a file is missing, a source differs from `expected` (the facts
    the full check was made from) or is racily fresh. Freshly written outputs are marked
    for a content re-check. Returns whether it wrote."""
    base = str(root)
    sources = list(sources)
    facts: dict[str, Facts] = {}
    recheck: list[str] = []
    now = clock()
    for rel in sources:
        found = _facts(base, rel)
        if (
            found is None
            or _fresh(found, now)
            or (expected is not None and expected.get(rel, found) != found)
        ):
            discard_manifest(root)
            return False
        facts[rel] = found
    for rel in outputs:
        found = _facts(base, rel)
        if found is None:
            discard_manifest(root)
            return False
        facts[rel] = found
        if _fresh(found, now):
            recheck.append(rel)
    key, assets = build
    manifest = StatManifest(dict(versions), assets, tuple(sources), facts, key, tuple(recheck))
    return _store(root, manifest)


def _store(root: Path, manifest: StatManifest) -> bool:
    path = manifest_path(root)
    data = {
        "format": MANIFEST_FORMAT,
        "versions": manifest.versions,
        "assets": manifest.assets,
        "build_key": manifest.build_key,
        "sources": len(manifest.sources),  # the first `sources` paths; the outputs follow
        "paths": list(manifest.facts),
        "facts": [v for f in manifest.facts.values() for v in f],
        "recheck": list(manifest.recheck),
    }
    tmp = path.with_name(f"{MANIFEST_FILE}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, separators=(",", ":")), "utf-8")
        os.replace(tmp, path)
    except OSError:  # a shortcut only: a read-only project simply has none
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def discard_manifest(root: Path) -> None:
    with contextlib.suppress(OSError):
        manifest_path(root).unlink()
