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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project import ASSETS_DIR, BUILD_DIR, META_DIR, STAGING_DIR

MANIFEST_FILE = ".build-manifest.json"
MANIFEST_FORMAT = 2
# The digest memo's racy window (prometeu_cache.digests.RACY_NS): a fact younger than this
# when it was recorded is not trusted later.
RACY_NS = 2_000_000_000
JOURNAL_FILE = ".relocation.json"

Facts = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


@dataclass(frozen=True)
class StatManifest:
    versions: dict[str, Any]
    assets: int  # build-set size, for the "up to date" line
    sources: tuple[str, ...]  # project-relative POSIX paths the build was made from
    facts: dict[str, Facts]  # sources and outputs


def manifest_path(root: Path) -> Path:
    return root / ASSETS_DIR / META_DIR / MANIFEST_FILE


def _facts(root: str, rel: str) -> Facts | None:
    try:
        st = os.stat(os.path.join(root, rel))
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def read_manifest(root: Path, versions: Mapping[str, Any]) -> StatManifest | None:
    """The manifest written for these format versions, or None (never raises)."""
    try:
        raw: Any = json.loads(manifest_path(root).read_bytes())
        if raw.get("format") != MANIFEST_FORMAT or raw.get("versions") != dict(versions):
            return None
        paths, flat, n_sources = raw["paths"], raw["facts"], raw["sources"]
        if len(flat) != 4 * len(paths) or not all(type(v) is int for v in flat):
            return None
        it = iter(flat)
        facts = {str(p): (a, b, c, d) for p, a, b, c, d in zip(paths, it, it, it, it, strict=True)}
        if len(facts) != len(paths) or not 0 <= n_sources <= len(paths):
            return None
        return StatManifest(dict(versions), int(raw["assets"]), tuple(paths[:n_sources]), facts)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def unchanged(root: Path, manifest: StatManifest) -> bool:
    """True when every recorded file still has exactly its recorded stat facts and no
    publication or relocation is half done."""
    base = str(root)
    for pending in (
        os.path.join(BUILD_DIR, STAGING_DIR),
        os.path.join(ASSETS_DIR, META_DIR, JOURNAL_FILE),
    ):
        if os.path.lexists(os.path.join(base, pending)):
            return False
    return all(_facts(base, rel) == facts for rel, facts in manifest.facts.items())


def write_manifest(
    root: Path,
    versions: Mapping[str, Any],
    assets: int,
    sources: Iterable[str],
    outputs: Iterable[str],
    expected: Mapping[str, Facts] | None = None,
) -> bool:
    """Record the current stat facts of `sources` and `outputs` (project-relative). Refused
    (and any older manifest removed) when a file is missing, differs from `expected` (the
    facts the full check was made from), or is racily fresh. Returns whether it wrote."""
    path = manifest_path(root)
    base = str(root)
    sources = list(sources)
    facts: dict[str, Facts] = {}
    now = time.time_ns()
    for rel in [*sources, *outputs]:
        found = _facts(base, rel)
        fresh = found is not None and now - max(found[1], found[2]) < RACY_NS
        if found is None or fresh or (expected is not None and expected.get(rel, found) != found):
            discard_manifest(root)
            return False
        facts[rel] = found
    data = {
        "format": MANIFEST_FORMAT,
        "versions": dict(versions),
        "assets": assets,
        "sources": len(sources),  # the first `sources` paths; the outputs follow
        "paths": list(facts),
        "facts": [v for f in facts.values() for v in f],
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
