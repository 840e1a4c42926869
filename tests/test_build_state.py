"""One pack path, one build state (issue 10, SPEC §8 step 6): focused acceptance tests.

`build/` holds the four outputs plus one hidden record, `build/.prometeu-build.json` (the
build key and the digest of each output; deterministic, so it is compared byte for byte like
the outputs). Every entry point (`doit pack`, `prometeu-packer pack`, `watch`, an embedding
host) recovers an interrupted publication first, then decides "up to date" from that record,
the current sources and the files actually in `build/`; never from its own memory alone.

Each test here is a scenario a user hit or can hit, checked against a *clean full build* of
the same sources (a fresh folder with the same name, no cache, no doit state, no build/):
* the issue's repro: doit pack → edit → another entry point packs → revert (bytes and mtime)
  → doit pack must rebuild;
* hand edits in build/ (truncation, other JSON, a deleted output, a deleted record);
* a torn build (a pack SIGKILLed between two promotion renames) followed by a revert, and an
  old sealed staging folder that must never be rolled forward over a newer build/;
* a game's own `cache.py` beside its `dodo.py`;
* doit's conventions: `clean`, `list`, `info`, `forget`;
* `doit -r json pack` on a blocked asset closes the run (one build_started, one
  build_finished) and leaves build/ as it was.

The helpers at the top (build state reading and comparison, clean builds, assets/ tree
snapshots) are shared with test_build_state_sequences.py.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from PIL import Image
from test_doit_support import (
    STARTER,
    base_env,
    copy_project,
    events,
    kinds,
    run_doit,
    run_packer,
)

from packer_tasks.models.results import PackResult
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

OUTPUTS = ("assets.pa", "asset_table.json", "preload.json", "asset_table_metadata.json")
RECORD = ".prometeu-build.json"
BUILD_FILES = (*OUTPUTS, RECORD)
STAGING = ".staging"
CRASH_ENV = "PROMETEU_PACKER_CRASH_AT"
DODO = "from packer_tasks.dodo import *  # noqa: F401,F403\n"
# Packer-owned state that lives inside assets/.prometeu/ (never a source, never reverted).
_STATE_PREFIXES = (".write.lock", ".digests.sqlite", ".relocation.json", ".build-manifest.json")
# Project-level state that is not a source either.
_PROJECT_STATE = ("build", ".prometeu-cache", "__pycache__")


# ------------------------------------------------------------------------------------------
# Reading and comparing build/


@dataclass(frozen=True)
class BuildState:
    """What build/ holds: its regular files (name → bytes) and anything else in it."""

    files: dict[str, bytes] = field(default_factory=dict)
    others: tuple[str, ...] = ()  # directories (`.staging`), symlinks, ...
    exists: bool = True
    staged: tuple[str, ...] = ()  # `.staging/<operation>: [files]`, for failure messages


def read_build_state(project: Path) -> BuildState:
    build = project / "build"
    if not build.is_dir():
        return BuildState(exists=False)
    files: dict[str, bytes] = {}
    others: list[str] = []
    for p in sorted(build.iterdir()):
        if p.is_file() and not p.is_symlink():
            files[p.name] = p.read_bytes()
        elif p.name == STAGING and p.is_dir():
            others.append(STAGING)
        else:
            others.append(p.name + ("/" if p.is_dir() else ""))
    return BuildState(files, tuple(others), staged=_staged(build / STAGING))


def _staged(staging: Path) -> tuple[str, ...]:
    """What a staging folder holds, one line per operation folder (for messages)."""
    if not staging.is_dir():
        return ()
    return tuple(
        f"{d.name}: {sorted(os.listdir(d)) if d.is_dir() else 'file'}"
        for d in sorted(staging.iterdir())
    )


def _describe(name: str, got: bytes, want: bytes) -> str:
    """One file's difference, readable: a short diff for text, offsets for binaries."""
    if name.endswith(".json"):
        try:
            a, b = got.decode("utf-8"), want.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            diff = list(
                difflib.unified_diff(
                    b.splitlines(), a.splitlines(), "clean build", "build/", lineterm="", n=1
                )
            )
            shown = "\n      ".join(diff[:24]) + ("\n      ..." if len(diff) > 24 else "")
            return f"{name} differs from the clean build:\n      {shown}"
    first = next(
        (i for i, (x, y) in enumerate(zip(got, want, strict=False)) if x != y),
        min(len(got), len(want)),
    )
    return (
        f"{name} differs from the clean build: {len(got)} bytes vs {len(want)} expected, "
        f"first difference at offset {first} (blake2b {hashlib.blake2b(got).hexdigest()[:16]}"
        f" vs {hashlib.blake2b(want).hexdigest()[:16]})"
    )


def build_differences(
    actual: BuildState, expected: BuildState, *, allow_staging: bool = False
) -> list[str]:
    """Everything that keeps `actual` from being exactly `expected` (outputs first, then
    the record, then anything else in build/). Empty when they are the same."""
    problems: list[str] = []
    if not expected.exists or RECORD not in expected.files:
        problems.append(
            f"the clean full build itself wrote no build/{RECORD} (issue 10: build/ records "
            "what it holds: the build key and the digest of each output)"
        )
    if not actual.exists:
        return [*problems, "build/ does not exist"]
    for name in BUILD_FILES:
        got, want = actual.files.get(name), expected.files.get(name)
        if got is None and want is None:
            continue
        if got is None:
            problems.append(f"build/{name} is missing")
        elif want is None:
            problems.append(f"build/{name} exists, but a clean build does not write it")
        elif got != want:
            problems.append(_describe(name, got, want))
    extra = sorted(set(actual.files) - set(BUILD_FILES))
    if extra:
        problems.append(f"stray files in build/: {extra}")
    if STAGING in actual.others and not allow_staging:
        problems.append(f"build/{STAGING} is left after a completed command: {actual.staged}")
    others = [o for o in actual.others if o != STAGING]
    if others:
        problems.append(f"build/ holds more than the outputs: {others}")
    return problems


def assert_build(
    project: Path, expected: BuildState, context: str, *, allow_staging: bool = False
) -> BuildState:
    """build/ must be byte for byte `expected` (the four outputs and the record)."""
    actual = read_build_state(project)
    problems = build_differences(actual, expected, allow_staging=allow_staging)
    assert not problems, f"{context}:\n  - " + "\n  - ".join(problems)
    return actual


StatSig = dict[str, tuple[int, int, int]]


def build_stat(project: Path) -> StatSig:
    """(inode, mtime_ns, size) of each file in build/: a no-op must not rewrite any."""
    build = project / "build"
    out: StatSig = {}
    if build.is_dir():
        for p in build.iterdir():
            if p.is_file():
                st = p.stat()
                out[p.name] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def stat_changes(before: StatSig, after: StatSig) -> list[str]:
    changed = [
        f"{n}: (inode, mtime_ns, size) {before.get(n)} -> {after.get(n)}"
        for n in sorted(set(before) | set(after))
        if before.get(n) != after.get(n)
    ]
    return changed


# ------------------------------------------------------------------------------------------
# Sources: snapshots of assets/ (bytes and times), restore, digest


@dataclass(frozen=True)
class TreeFile:
    data: bytes
    atime_ns: int
    mtime_ns: int


Tree = dict[str, TreeFile]


def is_packer_state(rel: str) -> bool:
    """Files the packer keeps beside the registry (lock, digest memo, journal, temp files)."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(_STATE_PREFIXES) or (name.startswith(".") and name.endswith(".tmp"))


def snapshot_tree(folder: Path) -> Tree:
    """Every source file under `folder` (relative POSIX path → bytes and times)."""
    tree: Tree = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            p = Path(dirpath, name)
            rel = p.relative_to(folder).as_posix()
            if is_packer_state(rel) or not p.is_file():
                continue
            st = p.stat()
            tree[rel] = TreeFile(p.read_bytes(), st.st_atime_ns, st.st_mtime_ns)
    return tree


def restore_tree(folder: Path, tree: Tree) -> None:
    """Put `folder` back to `tree`: same bytes, same mtimes, files it did not hold deleted
    (like a checkout of an older commit that also restores mtimes). Packer state stays."""
    for rel in set(snapshot_tree(folder)) - set(tree):
        (folder / rel).unlink()
    for rel, f in tree.items():
        p = folder / rel
        if not p.is_file() or p.read_bytes() != f.data:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(f.data)
        os.utime(p, ns=(f.atime_ns, f.mtime_ns))
    for dirpath, _dirs, _names in sorted(os.walk(folder), key=lambda w: -len(w[0])):
        d = Path(dirpath)
        if d != folder and d.name != ".prometeu" and not any(d.iterdir()):
            d.rmdir()


def tree_digest(tree: Tree) -> str:
    """Content digest of a sources snapshot (paths and bytes; times do not count)."""
    h = hashlib.sha256()
    for rel in sorted(tree):
        data = tree[rel].data
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def copy_sources(project: Path, dest: Path) -> Path:
    """A fresh project at `dest` with `project`'s sources only: assets/ without packer
    state, and the other top-level files (dodo.py, ...) without build/cache/doit state."""
    dest.mkdir(parents=True)

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(project).as_posix()
        skipped = {n for n in names if is_packer_state(n) or n == "__pycache__"}
        if rel == ".":
            skipped |= {n for n in names if n in _PROJECT_STATE or n.startswith(".doit.db")}
        return skipped

    for entry in project.iterdir():
        if ignore(str(project), [entry.name]):
            continue
        target = dest / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(entry, target)
    return dest


# ------------------------------------------------------------------------------------------
# Clean full builds


def clean_build_cli(project: Path, workdir: Path) -> BuildState:
    """`prometeu-packer --no-cache pack` in a fresh copy of `project`'s sources (same folder
    name, no cache, no doit state, no build/)."""
    fresh = copy_sources(project, workdir / project.name)
    run = run_packer(fresh, "--no-cache", "pack")
    assert run.returncode == 0, run.output
    state = read_build_state(fresh)
    assert state.exists and all(n in state.files for n in OUTPUTS), (
        f"the clean build in {fresh} wrote {sorted(state.files)}"
    )
    return state


def uncached_service(project: Path) -> PackerService:
    """A service that reads and writes no cache (like `--no-cache`)."""
    default = PackerService(Project(project)).cache_config
    return PackerService(Project(project), cache=dataclasses.replace(default, directory=None))


def watch_loop() -> Callable[..., int]:
    """`watch` (the function `prometeu-packer watch` runs), wherever it lives now."""
    for name in ("packer_tasks.service.watch", "packer_tasks.watch"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return cast(Callable[..., int], module.watch)
    raise AssertionError("packer_tasks has no watch loop")


def clean_build_service(assets: Path, workdir: Path, name: str) -> BuildState:
    """In-process clean full build of an assets/ tree: copied (without packer state) into a
    fresh project `workdir/name`, packed by the service with caching disabled."""
    fresh = workdir / name
    shutil.copytree(
        assets,
        fresh / "assets",
        ignore=lambda _f, names: {n for n in names if is_packer_state(n)},
    )
    result = uncached_service(fresh).pack()
    assert result.status.value == "success", f"clean build: {result.summary}"
    state = read_build_state(fresh)
    shutil.rmtree(fresh)
    return state


@pytest.fixture(scope="module")
def clean_starter(tmp_path_factory: pytest.TempPathFactory) -> BuildState:
    """The clean full build of sample_projects/starter as shipped (state A of these tests)."""
    work = tmp_path_factory.mktemp("clean-starter")
    src = copy_project(STARTER, work / "src" / "starter")
    return clean_build_cli(src, work / "clean")


@pytest.fixture
def game(starter_copy: Path) -> Path:
    """The starter copy as a game repo: with its dodo.py (written if the copy has none)."""
    dodo = starter_copy / "dodo.py"
    if not dodo.exists():
        dodo.write_text(DODO)
    return starter_copy


# ------------------------------------------------------------------------------------------
# Edits


SFX = "assets/sfx/basic/asset.json"
TILES = "assets/world/tiles_8"


def set_preload(project: Path, rel: str, enabled: bool) -> None:
    path = project / rel
    decl = json.loads(path.read_text("utf-8"))
    decl["preload"] = {"enabled": enabled}
    path.write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def repaint_tile(project: Path, tile: str = "grass.png") -> None:
    """Flip the tile (same size, same mode and palette, other pixels)."""
    png = project / TILES / tile
    with Image.open(png) as img:
        img.load()
        for op in (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_LEFT_RIGHT):
            edited = img.transpose(op)
            if edited.tobytes() != img.tobytes():
                break
        else:
            raise AssertionError(f"{tile} is symmetric; pick another tile")
    edited.save(png, format="PNG")


def restore_mtime(path: Path, st: os.stat_result) -> None:
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# ------------------------------------------------------------------------------------------
# Entry points


def pack_via(entry: str, project: Path) -> str:
    """Pack `project` through one entry point; return what it said (for failure messages)."""
    if entry == "doit":
        return run_doit(project, "pack").output
    if entry == "packer":
        return run_packer(project, "pack").output
    if entry == "service":  # an embedding host
        result = PackerService(Project(project)).pack()
        assert result.status.value == "success", result.summary
        return result.summary
    if entry == "watch":  # the real watch loop, ended after its first pack
        watch = watch_loop()
        results: list[PackResult] = []
        stop = threading.Event()
        timer = threading.Timer(60, stop.set)  # never hang the suite
        timer.start()
        try:
            watch(
                PackerService(Project(project)),
                on_result=results.append,
                stop_event=stop,
                max_packs=1,
            )
        finally:
            timer.cancel()
        assert len(results) == 1 and results[0].status.value == "success", results
        return results[0].summary
    raise AssertionError(entry)


def crash_pack(project: Path, via: str, point: str) -> subprocess.CompletedProcess[str]:
    """A real `doit pack` / `prometeu-packer pack` process that SIGKILLs itself at `point`."""
    argv = [sys.executable, "-m", "doit" if via == "doit" else "packer_tasks", "pack"]
    proc = subprocess.run(
        argv,
        cwd=project,
        env=base_env(**{CRASH_ENV: point}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, (
        f"{' '.join(argv[1:])} with {CRASH_ENV}={point} was not killed there "
        f"(exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    )
    return proc


def _which(data: bytes | None, a: BuildState, b: BuildState, name: str) -> str:
    """Which clean build a file of build/ comes from (for messages)."""
    if data is None:
        return "missing"
    tags = [t for t, s in (("A", a), ("B", b)) if s.files.get(name) == data]
    return "=".join(tags) or "neither"


def sealed_staging(project: Path) -> list[Path]:
    root = project / "build" / STAGING
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


# ==========================================================================================
# a. The repro: A → B through another entry point → back to A → doit pack


@pytest.mark.parametrize("middle", ["packer", "watch", "service"])
def test_doit_pack_rebuilds_after_another_entry_point_and_a_revert(
    game: Path, clean_starter: BuildState, tmp_path: Path, middle: str
) -> None:
    """doit pack (A); preload off + pack through `middle` (B); original asset.json back,
    same bytes and same mtime; doit pack must give the clean build of A again."""
    run_doit(game, "pack")
    assert_build(game, clean_starter, "the first `doit pack` (state A)")

    decl = game / SFX
    original, st = decl.read_bytes(), decl.stat()
    set_preload(game, SFX, False)
    said = pack_via(middle, game)
    clean_b = clean_build_cli(game, tmp_path / "clean-b")
    assert clean_b.files["preload.json"] != clean_starter.files["preload.json"]
    assert_build(game, clean_b, f"pack via {middle} of state B (preload off)\n{said}")

    decl.write_bytes(original)
    restore_mtime(decl, st)
    run = run_doit(game, "pack")
    assert_build(
        game,
        clean_starter,
        f"`doit pack` after {SFX} was put back (bytes and mtime) following a pack via "
        f"{middle}: build/ must hold a clean build of A again, not B\n{run.output}",
    )


# ==========================================================================================
# b. Hand edits in build/


def _truncate_pa(build: Path) -> None:
    data = (build / "assets.pa").read_bytes()
    (build / "assets.pa").write_bytes(data[: len(data) // 2])


def _other_table(build: Path) -> None:
    (build / "asset_table.json").write_text('[\n  {\n    "asset_id": 99\n  }\n]\n')


def _flip_pa_byte_keep_mtime(build: Path) -> None:
    """Same size, same mtime: only the content (and ctime) says it changed."""
    path = build / "assets.pa"
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    restore_mtime(path, st)


def _delete(name: str) -> Callable[[Path], None]:
    def damage(build: Path) -> None:
        (build / name).unlink()

    damage.__name__ = f"delete {name}"
    return damage


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncate-assets.pa": _truncate_pa,
    "overwrite-asset_table.json": _other_table,
    "flip-assets.pa-byte-keep-mtime": _flip_pa_byte_keep_mtime,
    "delete-preload.json": _delete("preload.json"),
    "delete-record": _delete(RECORD),
}


@pytest.mark.parametrize("entry", ["doit", "packer"])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_hand_edits_in_build_are_repaired(
    game: Path, clean_starter: BuildState, damage: str, entry: str
) -> None:
    run_doit(game, "pack")
    assert_build(game, clean_starter, "the first `doit pack`")
    DAMAGES[damage](game / "build")
    said = pack_via(entry, game)
    assert_build(
        game,
        clean_starter,
        f"pack via {entry} after a hand edit in build/ ({damage}) must restore the clean "
        f"bytes\n{said}",
    )


def test_a_damaged_build_is_repaired_twice_in_a_row(game: Path, clean_starter: BuildState) -> None:
    """Repair, damage again the same way, repair again (doit's memory of the last repair
    must not make the second one look up to date)."""
    run_doit(game, "pack")
    for attempt in (1, 2):
        _truncate_pa(game / "build")
        run = run_doit(game, "pack")
        assert_build(
            game, clean_starter, f"repair #{attempt} of a truncated assets.pa\n{run.output}"
        )


# ==========================================================================================
# c. Torn builds and stale staging folders


def _edit_b(project: Path) -> None:
    set_preload(project, SFX, False)
    repaint_tile(project)


@pytest.mark.parametrize("final", ["doit", "packer"])
@pytest.mark.parametrize("crash_via", ["doit", "packer"])
def test_torn_build_is_recovered_before_the_up_to_date_decision(
    game: Path, clean_starter: BuildState, tmp_path: Path, crash_via: str, final: str
) -> None:
    """Pack A; edit to B; a pack of B killed between two promotion renames (build/ holds
    a mix, plus a sealed staging folder); revert to A (bytes and mtimes); the next pack
    must finish or undo the publication first and then rebuild: a clean build of A."""
    run_doit(game, "pack")
    assert_build(game, clean_starter, "the first `doit pack` (state A)")
    sources_a = snapshot_tree(game / "assets")
    _edit_b(game)
    clean_b = clean_build_cli(game, tmp_path / "clean-b")

    crash_pack(game, crash_via, "promoted_1")
    assert sealed_staging(game), "the killed pack left no staging folder in build/"
    torn = read_build_state(game)
    mixed = {n: _which(torn.files.get(n), clean_starter, clean_b, n) for n in BUILD_FILES}

    restore_tree(game / "assets", sources_a)
    said = pack_via(final, game)
    assert_build(
        game,
        clean_starter,
        f"pack via {final} after a {crash_via} pack of B was killed at promoted_1 (build/ "
        f"then held {mixed}) and the edits were reverted to A\n{said}",
    )


@pytest.mark.parametrize("command", ["packer list", "doit pack", "packer validate"])
def test_an_old_staging_folder_never_rolls_forward_over_a_newer_build(
    game: Path, tmp_path: Path, command: str
) -> None:
    """A sealed staging folder of B (staged over A) comes back after build/ moved on to C:
    no command may publish it; build/ keeps C and the stale folder is gone."""
    run_doit(game, "pack")  # A
    _edit_b(game)
    crash_pack(game, "packer", "committed")  # sealed staging of B; build/ still A
    folders = sealed_staging(game)
    assert len(folders) == 1, folders
    aside = tmp_path / "old-staging"
    shutil.copytree(game / "build" / STAGING, aside, symlinks=True)

    run_packer(game, "pack")  # recovers (B), packs B
    set_preload(game, "assets/music/loop/asset.json", True)  # C: neither A nor B
    run_doit(game, "pack")  # doit's own memory now says C: its next run is a no-op
    clean_c = clean_build_cli(game, tmp_path / "clean-c")
    newer = assert_build(game, clean_c, "the pack of state C")

    stat = build_stat(game)
    shutil.copytree(aside, game / "build" / STAGING, symlinks=True)
    if command == "doit pack":
        said = run_doit(game, "pack").output
    else:
        said = run_packer(game, *command.split()[1:]).output
    assert_build(
        game,
        newer,
        f"`{command}` with an old sealed staging folder of B present: build/ must keep the "
        f"newer complete set C (and drop the stale folder)\n{said}",
    )
    changed = stat_changes(stat, build_stat(game))
    assert not changed, f"`{command}` rewrote a correct, newer build/: {changed}\n{said}"


# ==========================================================================================
# d. A game's own cache.py beside its dodo.py


@pytest.mark.parametrize(
    "cache_py", ['raise ImportError("game cache")\n', "X = 1\n"], ids=["raising", "plain"]
)
@pytest.mark.parametrize("module", ["doit", "packer_tasks"])
def test_a_game_cache_module_does_not_shadow_the_packer(
    game: Path, clean_starter: BuildState, cache_py: str, module: str
) -> None:
    (game / "cache.py").write_text(cache_py)
    argv = [sys.executable, "-m", module, "pack"]
    # A real process in the game folder: the folder is first on sys.path, as for a user.
    proc = subprocess.run(
        argv, cwd=game, env=base_env(), capture_output=True, text=True, timeout=120, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in output, output
    assert_build(game, clean_starter, f"`python -m {module} pack` beside a cache.py\n{output}")


# ==========================================================================================
# e. doit's conventions


def _user_files(project: Path) -> dict[str, bytes]:
    """Every file of the project that is not build output or packer/doit state."""
    out: dict[str, bytes] = {}
    for dirpath, dirs, names in os.walk(project):
        here = Path(dirpath)
        if here == project:
            dirs[:] = [d for d in dirs if d not in _PROJECT_STATE]
        for name in names:
            rel = (here / name).relative_to(project).as_posix()
            if is_packer_state(rel) or rel.startswith(".doit.db"):
                continue
            out[rel] = (here / name).read_bytes()
    return out


def test_doit_clean_removes_exactly_the_outputs(game: Path, clean_starter: BuildState) -> None:
    run_doit(game, "pack")
    assert_build(game, clean_starter, "the first `doit pack`")
    notes = game / "build" / "NOTES.txt"  # not an output: a clean must leave it alone
    notes.write_text("mine\n")
    before = _user_files(game)

    run = run_doit(game, "clean", "pack")
    left = read_build_state(game)
    gone = [n for n in BUILD_FILES if n in left.files]
    assert not gone, f"`doit clean pack` left outputs {gone}\n{run.output}"
    assert not left.others, f"`doit clean pack` left {left.others} in build/"
    assert notes.is_file() and notes.read_text() == "mine\n", (
        "`doit clean pack` removed build/NOTES.txt, which is not one of its outputs"
    )
    after = _user_files(game)
    assert after == before, (
        "`doit clean pack` changed files that are not outputs: "
        f"{sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))}"
    )

    notes.unlink()
    run = run_doit(game, "pack")
    assert_build(game, clean_starter, f"`doit pack` after `doit clean pack`\n{run.output}")


def test_doit_list_info_and_forget(game: Path, clean_starter: BuildState) -> None:
    listed = run_doit(game, "list")
    assert any(line.split()[:1] == ["pack"] for line in listed.stdout.splitlines()), listed.output
    everything = run_doit(game, "list", "--all")
    names = {line.split()[0] for line in everything.stdout.splitlines() if line.strip()}
    wanted = {"pack", "pack:assemble"}
    assert wanted <= names, f"missing from `doit list --all`: {sorted(wanted - names)}"

    run_doit(game, "pack")
    info = run_doit(game, "info", "pack:assemble")
    assert info.returncode == 0 and "pack:assemble" in info.output, info.output

    forget = run_doit(game, "forget", "pack")
    run = run_doit(game, "pack")
    assert_build(
        game, clean_starter, f"`doit pack` after `doit forget pack`\n{forget.output}{run.output}"
    )


# ==========================================================================================
# f. A blocked doit run closes its lifecycle with any reporter


@pytest.mark.parametrize("reporter", ["json", "default"])
def test_blocked_doit_run_finishes_its_lifecycle(
    game: Path, clean_starter: BuildState, tmp_path: Path, reporter: str
) -> None:
    run_doit(game, "pack")
    previous = assert_build(game, clean_starter, "the first `doit pack`")
    (game / TILES / "grass.png").write_bytes(b"this is not a PNG at all\n")

    log = tmp_path / "events.jsonl"
    args = ["-r", "json", "pack"] if reporter == "json" else ["pack"]
    run = run_doit(game, *args, env=base_env(PROMETEU_PACKER_EVENTS=str(log)), check=False)
    assert run.returncode != 0, f"a blocked doit pack exited 0\n{run.output}"

    evts = events(log) if log.exists() else []
    seq = [e.get("kind") for e in evts]
    started, finished = kinds(evts, "build_started"), kinds(evts, "build_finished")
    assert len(started) == 1 and len(finished) == 1, (
        f"`doit {' '.join(args)}` on a blocked asset: want exactly one build_started and one "
        f"build_finished, got {len(started)} and {len(finished)}; events: {seq}"
    )
    assert seq.index("build_started") < seq.index("build_finished"), seq
    status = (finished[0].get("data") or {}).get("status")
    assert status in ("blocked", "failed"), f"build_finished status {status!r}: {finished[0]}"
    assert_build(game, previous, f"build/ after a blocked `doit {' '.join(args)}`\n{run.output}")


# ------------------------------------------------------------------------------------------
# Self-tests of the helpers above (they must catch what they are meant to catch)


def test_helpers_detect_differences_and_restore_trees(tmp_path: Path) -> None:
    a = BuildState({**{n: n.encode() for n in OUTPUTS}, RECORD: b"{}\n"})
    assert build_differences(a, a) == []
    b = BuildState({**a.files, "assets.pa": b"other"}, (STAGING,))
    problems = build_differences(b, a, allow_staging=True)
    assert len(problems) == 1 and "assets.pa differs" in problems[0], problems
    assert len(build_differences(b, a)) == 2
    no_record = BuildState({n: n.encode() for n in OUTPUTS})
    assert any("missing" in p for p in build_differences(no_record, a))
    assert any("wrote no" in p for p in build_differences(no_record, no_record))

    folder = tmp_path / "assets"
    (folder / "x").mkdir(parents=True)
    (folder / "x" / "a.txt").write_text("a")
    (folder / ".prometeu").mkdir()
    (folder / ".prometeu" / ".digests.sqlite").write_text("state")
    before = snapshot_tree(folder)
    assert set(before) == {"x/a.txt"}
    (folder / "x" / "a.txt").write_text("b")
    (folder / "y").mkdir()
    (folder / "y" / "new.txt").write_text("n")
    restore_tree(folder, before)
    assert snapshot_tree(folder) == before and not (folder / "y").exists()
    assert (folder / ".prometeu" / ".digests.sqlite").read_text() == "state"
    assert tree_digest(before) == tree_digest(snapshot_tree(folder))
