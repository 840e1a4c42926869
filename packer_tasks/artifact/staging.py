"""Crash-safe publication of build outputs (SPEC §8 step 5).

Outputs are written to `build/.staging/<operation_id>/` and fsynced; the outputs `build/`
holds now are hard-linked into `previous/` beside them; then `COMMIT.json` (names, sizes,
digests, which outputs existed before, and the identity (inode, size, mtime) of each staged
and previous file) is
written atomically. That file is the commit point:
* no COMMIT → the staging folder is garbage; `build/` still holds the previous set;
* COMMIT present → every listed file is (or will be) renamed into `build/`; a run killed
  half-way is rolled *forward* by `recover()`, which runs before every pack;
* a rename that fails in-process (disk full, permissions) is rolled *back*: COMMIT.json is
  renamed to ROLLBACK.json (one atomic step that also unseals the folder), the previous
  files are renamed back from `previous/` and outputs that did not exist before are
  removed. A rollback interrupted by a kill is finished by `recover()`.
Each rename is atomic, so no reader ever sees a torn file, and after recovery `build/`
holds one complete set. The build record (`build_record.py`) is published last, with the
outputs it describes.

A sealed folder is rolled forward only over the `build/` it was staged against: every file
there must still be the previous file (same inode) or one this folder already promoted.
Anything else means `build/` was written since (a newer pack, a hand edit), and an older
staging folder is then discarded, never promoted over it.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from prometeu_cache.keys import blake3_file, blake3_hex

from ..canonical_json import pretty
from ..workspace.atomic import fsync_dir, write_atomic
from ..workspace.project import PUBLISHED  # in order: the record comes last
from .build_record import RECORD_FILE, record_bytes
from .companions import OUTPUT_NAMES

COMMIT_FILE = "COMMIT.json"
ROLLBACK_FILE = "ROLLBACK.json"
PREVIOUS_DIR = "previous"
CRASH_ENV = "PROMETEU_PACKER_CRASH_AT"


def crashpoint(name: str) -> None:
    """Fault injection for the kill tests: SIGKILL ourselves at a named point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


@dataclass(frozen=True)
class RecoveryReport:
    rolled_forward: list[str]
    discarded: list[str]
    rolled_back: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.rolled_forward or self.discarded or self.rolled_back or self.superseded)


def staging_root(build_dir: Path) -> Path:
    return build_dir / ".staging"


@dataclass(frozen=True)
class Staged:
    """A sealed staging folder and the (size, blake3) of each output it holds."""

    folder: Path
    outputs: dict[str, tuple[int, str]]


def stage(
    build_dir: Path,
    operation_id: str,
    write_pa: Callable[[BinaryIO], str],
    companions: dict[str, bytes],
    build_key: str,
) -> Staged:
    """Write every output and the build record into a fresh staging folder, keep hard
    links of the files `build/` holds now (for an in-process rollback), and seal it with
    COMMIT.json. On any failure nothing is left behind and `build/` is untouched."""
    folder = staging_root(build_dir) / operation_id
    folder.mkdir(parents=True, exist_ok=False)
    try:
        with open(folder / "assets.pa", "wb") as fh:
            digests = {"assets.pa": write_pa(fh)}  # hashed while streaming, not re-read
            _sync(fh)
        crashpoint("staged_pa")
        for name, data in companions.items():
            digests[name] = blake3_hex(data)
            _write_synced(folder / name, data)
            crashpoint(f"staged_{name}")
        outputs = {n: ((folder / n).stat().st_size, digests[n]) for n in OUTPUT_NAMES}
        record = record_bytes(build_key, outputs)
        _write_synced(folder / RECORD_FILE, record)
        digests[RECORD_FILE] = blake3_hex(record)
        previous = _keep_previous(build_dir, folder / PREVIOUS_DIR)
        fsync_dir(folder)
        manifest = {
            "files": {
                n: {"blake3": digests[n], "size": (folder / n).stat().st_size} for n in PUBLISHED
            },
            "identity": {
                n: {"staged": _identity((folder / n).stat()), "previous": previous.get(n)}
                for n in PUBLISHED
            },
            "operation_id": operation_id,
            "previous": sorted(previous),
        }
        write_atomic(folder / COMMIT_FILE, pretty(manifest))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # `.staging` itself, when empty
        raise
    crashpoint("committed")
    return Staged(folder, outputs)


def _sync(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        _sync(fh)


def _identity(st: os.stat_result) -> list[int]:
    """Which file this is: inode, size and mtime (rename keeps all three; an inode number
    reused by a newer file comes with a newer mtime)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _keep_previous(build_dir: Path, backup: Path) -> dict[str, list[int]]:
    """Hard-link (or copy) the current outputs into `backup`; return their names and the
    identity each had in `build/` (what a later recovery expects to find there)."""
    backup.mkdir()
    kept: dict[str, list[int]] = {}
    for name in PUBLISHED:
        current = build_dir / name
        try:
            ino = _identity(os.stat(current, follow_symlinks=False))
        except OSError:
            continue
        if not (current.is_file() or current.is_symlink()):
            continue
        try:
            os.link(current, backup / name, follow_symlinks=False)
        except OSError:
            shutil.copy2(current, backup / name, follow_symlinks=False)
        kept[name] = ino
    fsync_dir(backup)
    return kept


def publish(build_dir: Path, folder: Path) -> None:
    """Promote a freshly staged set. If a rename fails, put the previous set back, discard
    the staging folder and re-raise: `build/` is then exactly what it was before. Ctrl-C
    waits until the renames are done, so an interrupted command leaves a complete set."""
    with _interrupts_deferred():
        try:
            promote(build_dir, folder)
        except OSError:
            with contextlib.suppress(OSError):
                roll_back(build_dir, folder)
            raise


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for the few renames of a promotion (main thread only; a signal
    that arrives meanwhile is delivered, as usual, right after). Where signals cannot be
    masked (Windows), Ctrl-C is noted during the renames and raised after them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not hasattr(signal, "pthread_sigmask"):
        with _ctrl_c_noted():
            yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def _ctrl_c_noted() -> Iterator[None]:
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if noted:
        raise KeyboardInterrupt


def promote(build_dir: Path, folder: Path) -> None:
    """Rename each staged output into `build/` (the roll-forward path, idempotent)."""
    for i, name in enumerate(PUBLISHED):
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


def _manifest(folder: Path, name: str) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / name).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _sealed(folder: Path) -> bool:
    manifest = _manifest(folder, COMMIT_FILE)
    files = manifest.get("files") if manifest is not None else None
    return isinstance(files, dict) and set(files) == set(PUBLISHED)


def _superseded(build_dir: Path, folder: Path) -> bool:
    """True when `build/` was written after this folder was sealed: a file there is
    neither the one the folder found at staging time nor one it promoted itself. Inodes
    answer at once; a copied project (new inodes) is answered by content: the previous
    file is kept in `previous/`, the promoted one is named by its digest in COMMIT.json."""
    manifest = _manifest(folder, COMMIT_FILE) or {}
    identity = manifest.get("identity")
    files = manifest.get("files")
    if not isinstance(files, dict):
        return True
    for name in PUBLISHED:
        facts = identity.get(name) if isinstance(identity, dict) else None
        current = build_dir / name
        try:
            st = os.stat(current, follow_symlinks=False)
        except FileNotFoundError:
            continue  # not there (yet): promoting it cannot overwrite anything newer
        except OSError:
            return True
        if isinstance(facts, dict) and _identity(st) in (
            facts.get("staged"),
            facts.get("previous"),
        ):
            continue
        if not _same_content(current, st, folder / PREVIOUS_DIR / name, files.get(name)):
            return True
    return False


def _same_content(current: Path, st: os.stat_result, previous: Path, staged: Any) -> bool:
    """Whether `current` holds the previous file's bytes or the staged file's."""
    try:
        if (
            isinstance(staged, dict)
            and staged.get("size") == st.st_size
            and blake3_file(current) == staged.get("blake3")
        ):
            return True
        return previous.is_file() and filecmp.cmp(previous, current, shallow=False)
    except OSError:
        return False


def roll_back(build_dir: Path, folder: Path) -> None:
    """Restore the outputs `build/` held before this staging folder was promoted (partly),
    then discard the folder. Idempotent; a kill part-way is finished by `recover()`."""
    marker = folder / ROLLBACK_FILE
    if not marker.exists():
        sealed = _manifest(folder, COMMIT_FILE)
        if sealed is None or not isinstance(sealed.get("previous"), list):
            # Without the list of previous outputs nothing can be restored safely; the
            # folder stays sealed and the next recover() rolls it forward instead.
            raise OSError(f"{folder / COMMIT_FILE} does not say which outputs existed before")
        os.replace(folder / COMMIT_FILE, marker)  # unseal + mark, in one atomic step
        fsync_dir(folder)
    manifest = _manifest(folder, ROLLBACK_FILE)
    previous = manifest.get("previous") if manifest is not None else None
    if not isinstance(previous, list):  # a damaged marker: nothing left to restore safely
        _remove(folder)
        return
    for i, name in enumerate(PUBLISHED):
        kept = folder / PREVIOUS_DIR / name
        if name in previous:
            if kept.exists() or kept.is_symlink():
                os.replace(kept, build_dir / name)
        else:  # did not exist before: a file there now came from this promotion
            current = build_dir / name
            if current.is_symlink() or current.is_file():
                current.unlink()
        crashpoint(f"rolled_back_{i}")
    fsync_dir(build_dir)
    marker.unlink()
    _remove(folder)


def recover(build_dir: Path) -> RecoveryReport:
    """Finish or discard interrupted publications. Call inside the write lane, before
    any decision about what `build/` holds."""
    root = staging_root(build_dir)
    if not root.is_dir():
        return RecoveryReport([], [])
    report = RecoveryReport([], [])
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / ROLLBACK_FILE).exists():
            roll_back(build_dir, folder)
            report.rolled_back.append(folder.name)
        elif not _sealed(folder):
            _remove(folder)
            report.discarded.append(folder.name)
        elif _superseded(build_dir, folder):
            _remove(folder)
            report.superseded.append(folder.name)
        else:
            promote(build_dir, folder)
            report.rolled_forward.append(folder.name)
    with contextlib.suppress(OSError):
        root.rmdir()
    return report
