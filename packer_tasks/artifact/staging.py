"""Crash-safe publication of build outputs (SPEC §8 step 5).

Outputs are written to `build/.staging/<operation_id>/` and fsynced; then `COMMIT.json`
(names, sizes and digests) is written atomically. That file is the commit point:
* no COMMIT → the staging folder is garbage; `build/` still holds the previous set;
* COMMIT present → every listed file is (or will be) renamed into `build/`; a run killed
  half-way is rolled *forward* by `recover()`, which every packer command runs first.
Each rename is atomic, so no reader ever sees a torn file, and after recovery `build/`
holds one complete set.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cache.keys import blake3_file

from ..canonical_json import pretty
from ..workspace.atomic import fsync_dir, write_atomic
from .companions import OUTPUT_NAMES

COMMIT_FILE = "COMMIT.json"
CRASH_ENV = "PROMETEU_PACKER_CRASH_AT"


def crashpoint(name: str) -> None:
    """Fault injection for the kill tests: SIGKILL ourselves at a named point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class RecoveryReport:
    rolled_forward: list[str]
    discarded: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.rolled_forward or self.discarded)


def staging_root(build_dir: Path) -> Path:
    return build_dir / ".staging"


def stage(build_dir: Path, operation_id: str, write_pa: Callable[[BinaryIO], None],
          companions: dict[str, bytes]) -> Path:
    """Write every output into a fresh staging folder and seal it with COMMIT.json."""
    folder = staging_root(build_dir) / operation_id
    folder.mkdir(parents=True, exist_ok=False)
    try:
        with open(folder / "assets.pa", "wb") as fh:
            write_pa(fh)
            fh.flush()
            os.fsync(fh.fileno())
        crashpoint("staged_pa")
        for name, data in companions.items():
            with open(folder / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            crashpoint(f"staged_{name}")
        fsync_dir(folder)
        manifest = {"files": {n: {"blake3": blake3_file(folder / n),
                                  "size": (folder / n).stat().st_size} for n in OUTPUT_NAMES},
                    "operation_id": operation_id}
        write_atomic(folder / COMMIT_FILE, pretty(manifest))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    crashpoint("committed")
    return folder


def promote(build_dir: Path, folder: Path) -> None:
    """Rename each staged output into `build/` (the roll-forward path, idempotent)."""
    for i, name in enumerate(OUTPUT_NAMES):
        src = folder / name
        if src.exists():
            os.replace(src, build_dir / name)
            crashpoint(f"promoted_{i}")
    fsync_dir(build_dir)
    _remove(folder)
    crashpoint("cleaned")


def _remove(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / COMMIT_FILE).unlink()
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # `.staging` itself, when empty


def _sealed(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / COMMIT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files") if isinstance(manifest, dict) else None
    return isinstance(files, dict) and set(files) == set(OUTPUT_NAMES)


def recover(build_dir: Path) -> RecoveryReport:
    """Finish or discard interrupted publications. Call inside the write lane."""
    root = staging_root(build_dir)
    if not root.is_dir():
        return RecoveryReport([], [])
    forward: list[str] = []
    discarded: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if _sealed(folder):
            promote(build_dir, folder)
            forward.append(folder.name)
        else:
            _remove(folder)
            discarded.append(folder.name)
    with contextlib.suppress(OSError):
        root.rmdir()
    return RecoveryReport(forward, discarded)
