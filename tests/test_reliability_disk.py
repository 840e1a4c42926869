"""Disk faults (SPEC §8 step 5, §3 atomic registry writes, §6 results).

* Disk full while staging: writes into build/.staging run out of space after a random
  number of bytes (or an fsync reports ENOSPC) → pack `failed` at stage `promotion`, the
  previous build/ byte-identical, no staging left, and the next pack works.
* Read-only build/ (a real read-only bind mount in a private mount namespace when we may
  mount; EROFS injected in-process everywhere) → the same.
* A read-only project: the read commands still work; writes fail with a diagnostic.
* Registry writes failing (ENOSPC part-way, fsync, rename) → mutation `failed` with
  `io.failed`, registry and workspace unchanged, no temp files left, and the same mutation
  then succeeds.

The named rename/open failures of publication are in tests/test_pack_crash.py; here the
failure point is drawn at random over the bytes and calls of a real pack.
"""

from __future__ import annotations

import builtins
import errno
import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_png
from test_reliability_support import (
    HEAVY,
    Zygote,
    assert_clean_exit,
    assert_coherent,
    build_project,
    count,
    readonly_runner_available,
    run_cli_readonly,
    service_for,
    tree_bytes,
    write_unregistered_root,
)

from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

STAGING_SEEDS = 60 if HEAVY else 14
REGISTRY_SEEDS = 8 if HEAVY else 2


def enospc(path: object = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path) if path else None)


def erofs(path: object = None) -> OSError:
    return OSError(errno.EROFS, os.strerror(errno.EROFS), str(path) if path else None)


def _is_write_mode(mode: str) -> bool:
    return any(c in mode for c in "wax+")


class Budget:
    """Bytes that may still be written before the disk is 'full'."""

    def __init__(self, left: int) -> None:
        self.left = left
        self.tripped = 0
        self.written = 0


class FullDiskFile:
    """A real file whose writes fail with ENOSPC once the shared budget is spent (after
    writing what still fits, like a real short write followed by an error)."""

    def __init__(self, fh: Any, budget: Budget, name: str) -> None:
        self._fh, self._budget, self._name = fh, budget, name

    def write(self, data: Any) -> int:
        n = len(data)
        if n <= self._budget.left:
            self._budget.left -= n
            self._budget.written += n
            return int(self._fh.write(data))
        if self._budget.left:
            self._fh.write(bytes(data[: self._budget.left]))
            self._budget.written += self._budget.left
            self._budget.left = 0
        self._budget.tripped += 1
        raise enospc(self._name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def patch_open(monkeypatch: pytest.MonkeyPatch, under: Path, budget: Budget) -> None:
    real_open = builtins.open
    prefix = str(under)

    def full_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        fh = real_open(file, mode, *args, **kw)
        if (
            _is_write_mode(mode)
            and isinstance(file, str | os.PathLike)
            and os.path.abspath(os.fspath(file)).startswith(prefix)
        ):
            return FullDiskFile(fh, budget, os.fspath(file))
        return fh

    monkeypatch.setattr(builtins, "open", full_open)


def fd_path(fd: int) -> str:
    """The path of an open regular file ('' for folders: their fsync is best effort)."""
    try:
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
    return "" if os.path.isdir(path) else path


# ------------------------------------------------------------------------------------------
# Disk full while staging


@pytest.fixture
def two_states(tmp_path: Path) -> Iterator[tuple[PackerService, Path]]:
    """A packed project (state A) whose registry has since moved to state B."""
    game = tmp_path / "game"
    svc = build_project(game, glyphs=2, tiles=3, sounds=2, wav_frames=3000)
    yield svc, game


def pack_a_then_switch_to_b(svc: PackerService, game: Path) -> dict[str, bytes]:
    assert svc.include_asset_in_build(1).status.value == "success"
    assert svc.pack().status.value == "success"
    before = tree_bytes(game / "build")
    assert svc.exclude_asset_from_build(1).status.value == "success"
    return before


def assert_failed_promotion_untouched(
    svc: PackerService, game: Path, before: dict[str, bytes], context: str
) -> None:
    result = svc.pack()
    assert result.status.value == "failed", f"{context}: {result.summary}"
    assert result.failure_stage is not None
    assert result.failure_stage.value == "promotion", context
    assert "build.promotion_failed" in [d.code for d in result.diagnostics], context
    assert tree_bytes(game / "build") == before, f"{context}: build/ changed"
    assert not (game / "build" / ".staging").exists(), f"{context}: staging left behind"


def next_pack_works(svc: PackerService, game: Path, before: dict[str, bytes]) -> None:
    result = svc.pack()
    assert result.status.value == "success", result.summary
    assert tree_bytes(game / "build") != before
    assert_coherent(game / "build")


def measure_staged_bytes(svc: PackerService, game: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many bytes a pack of state B writes into build/.staging (no fault)."""
    budget = Budget(1 << 40)
    with monkeypatch.context() as m:
        patch_open(m, game / "build" / ".staging", budget)
        assert svc.pack().status.value == "success"
    return budget.written


def test_disk_full_at_a_random_byte_of_staging(
    two_states: tuple[PackerService, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, game = two_states
    pack_a_then_switch_to_b(svc, game)
    total = measure_staged_bytes(svc, game, monkeypatch)
    assert total > 30_000
    for seed in range(STAGING_SEEDS):
        rng = random.Random(f"enospc:{seed}")
        before = pack_a_then_switch_to_b(svc, game)
        budget = Budget(rng.randrange(0, total))
        context = f"seed={seed}: disk full after {budget.left} of {total} staged bytes"
        with monkeypatch.context() as m:
            patch_open(m, game / "build" / ".staging", budget)
            assert_failed_promotion_untouched(svc, game, before, context)
        assert budget.tripped, context
        count("disk.enospc_staging_write")
        next_pack_works(svc, game, before)


def test_fsync_reports_disk_full_while_staging(
    two_states: tuple[PackerService, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delayed allocation: the write succeeds, the fsync says the disk is full."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to map descriptors to paths")
    svc, game = two_states
    staging = str(game / "build" / ".staging")
    real_fsync = os.fsync
    calls: list[str] = []

    def counting_fsync(fd: int) -> None:
        if fd_path(fd).startswith(staging):
            calls.append(fd_path(fd))
        real_fsync(fd)

    pack_a_then_switch_to_b(svc, game)
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", counting_fsync)
        assert svc.pack().status.value == "success"
    assert len(calls) >= 4
    for k in range(len(calls)):
        before = pack_a_then_switch_to_b(svc, game)
        seen = [0]

        def failing_fsync(fd: int, k: int = k, seen: list[int] = seen) -> None:
            if fd_path(fd).startswith(staging):
                seen[0] += 1
                if seen[0] == k + 1:
                    raise enospc(fd_path(fd))
            real_fsync(fd)

        with monkeypatch.context() as m:
            m.setattr(os, "fsync", failing_fsync)
            assert_failed_promotion_untouched(svc, game, before, f"fsync #{k + 1} failed")
        count("disk.enospc_staging_fsync")
        next_pack_works(svc, game, before)


def test_without_hard_links_a_failed_promotion_still_restores_build(
    two_states: tuple[PackerService, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a filesystem without hard links the previous set is copied, and a rename that
    fails part-way through promotion still leaves the previous build/ exactly."""
    svc, game = two_states
    build = game / "build"
    real_replace = os.replace

    def no_link(*a: Any, **kw: Any) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    for fail_at in (1, 2, 3, 4):
        before = pack_a_then_switch_to_b(svc, game)
        n = [0]

        def replace(
            src: Any, dst: Any, *a: Any, n: list[int] = n, fail_at: int = fail_at, **kw: Any
        ) -> None:
            if Path(dst).parent == build:
                n[0] += 1
                if n[0] == fail_at:
                    raise enospc(dst)
            real_replace(src, dst, *a, **kw)

        with monkeypatch.context() as m:
            m.setattr(os, "link", no_link)
            m.setattr(os, "replace", replace)
            assert_failed_promotion_untouched(svc, game, before, f"rename #{fail_at}")
        count("disk.promotion_rename_without_hardlinks")
        next_pack_works(svc, game, before)


# ------------------------------------------------------------------------------------------
# Read-only build/ and read-only project


def test_read_only_build_injected(
    two_states: tuple[PackerService, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """EROFS for every write under build/ (mkdir, open, link, rename, unlink)."""
    svc, game = two_states
    before = pack_a_then_switch_to_b(svc, game)
    build = str(game / "build")
    real_open, real_mkdir = builtins.open, os.mkdir

    def under(p: Any) -> bool:
        return isinstance(p, str | os.PathLike) and os.path.abspath(os.fspath(p)).startswith(build)

    def ro_open(file: Any, mode: str = "r", *a: Any, **kw: Any) -> Any:
        if _is_write_mode(mode) and under(file):
            raise erofs(file)
        return real_open(file, mode, *a, **kw)

    def ro(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            if any(under(a) for a in args[:2]):
                raise erofs(args[0])
            return real(*args, **kw)

        return wrapper

    with monkeypatch.context() as m:
        m.setattr(builtins, "open", ro_open)
        m.setattr(os, "mkdir", ro(real_mkdir))
        for name in ("link", "replace", "rename", "unlink", "rmdir"):
            m.setattr(os, name, ro(getattr(os, name)))
        assert_failed_promotion_untouched(svc, game, before, "read-only build/")
    count("disk.erofs_build_injected")
    next_pack_works(svc, game, before)


needs_ro_mount = pytest.mark.skipif(
    not readonly_runner_available(), reason="needs root and a private mount namespace"
)


@needs_ro_mount
def test_read_only_build_mount(two_states: tuple[PackerService, Path]) -> None:
    svc, game = two_states
    before = pack_a_then_switch_to_b(svc, game)
    rc, out, err = run_cli_readonly(game / "build", ["pack", "--json"], cwd=game)
    count("disk.erofs_build_mount")
    assert rc == 1, out + err
    assert "Traceback" not in err and "internal error" not in err, err
    import json

    result = json.loads(out)
    assert result["status"] == "failed" and result["failure_stage"] == "promotion"
    assert "build.promotion_failed" in [d["code"] for d in result["diagnostics"]]
    assert tree_bytes(game / "build") == before
    next_pack_works(svc, game, before)


def test_read_only_build_chmod(two_states: tuple[PackerService, Path]) -> None:
    svc, game = two_states
    before = pack_a_then_switch_to_b(svc, game)
    build = game / "build"
    build.chmod(0o555)
    try:
        if os.access(build, os.W_OK):
            pytest.skip("permissions are not enforced for this user (root)")
        assert_failed_promotion_untouched(svc, game, before, "chmod 555 build/")
        count("disk.eacces_build_chmod")
    finally:
        build.chmod(0o755)
    next_pack_works(svc, game, before)


READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("summary",),
    ("validate",),
    ("list",),
    ("show", "1"),
    ("doctor",),
    ("inspect",),
)


@needs_ro_mount
@pytest.mark.parametrize("history", ["packed", "never-packed", "interrupted-pack"])
def test_read_only_project_still_reads(tmp_path: Path, history: str) -> None:
    """E.g. a checkout on a read-only share, or one a killed pack left half-published."""
    game = tmp_path / "game"
    svc = build_project(game, glyphs=2, sounds=1)
    packed_before = history != "never-packed"
    if packed_before:
        assert svc.pack().status.value == "success"
    if history == "interrupted-pack":
        assert svc.exclude_asset_from_build(1).status.value == "success"
        with Zygote(tmp_path / "crash") as z:
            crash = z.run(["pack"], game, env={"PROMETEU_PACKER_CRASH_AT": "committed"})
        assert crash.signal == 9 and (game / "build" / ".staging").is_dir()
    before = tree_bytes(game)
    with Zygote(tmp_path / "zygote", readonly=game) as z:
        probe = z.run(
            ["list", "--json"],
            game,
            prelude=(
                "import errno, pathlib\n"
                "try:\n    pathlib.Path('probe').write_text('x')\n"
                "except OSError as e:\n    assert e.errno == errno.EROFS\n"
                "else:\n    raise SystemExit(99)\n"
            ),
        )
        assert probe.exit == 0, "the project is not read-only in the zygote"
        for argv in READ_COMMANDS:
            if argv == ("inspect",) and not packed_before:
                continue
            run = z.run([*argv, "--json"], game)
            count("disk.readonly_project_read")
            assert_clean_exit(run, f"{argv} on a read-only project")
            assert run.exit == 0 and run.json()["status"] == "success", (argv, run.stdout)
        # Writes fail cleanly: a diagnostic, exit 1, never an internal error.
        writes: tuple[tuple[str, ...], ...] = (
            ("relocate", "2", "moved/x", "--yes"),
            ("pack",),
            ("register", "gfx/bank_0"),
        )
        for argv in writes:
            run = z.run([*argv, "--json"], game)
            count("disk.readonly_project_write")
            assert_clean_exit(run, f"{argv} on a read-only project")
            result = run.json()
            if argv == ("pack",) and history == "packed":
                # build/ already holds this build: nothing to write, so nothing fails
                assert run.exit == 0 and result["published"] is False, run.stdout
                continue
            assert run.exit == 1 and result["status"] in ("failed", "blocked"), argv
            assert result["diagnostics"], argv
    assert tree_bytes(game) == before


def test_read_only_project_reads_injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same reads with EROFS injected for every write under the project (portable)."""
    import sqlite3

    game = tmp_path / "game"
    svc = build_project(game, glyphs=2, sounds=1)
    assert svc.pack().status.value == "success"
    before = tree_bytes(game)
    prefix = str(game)
    real_open, real_os_open, real_connect = builtins.open, os.open, sqlite3.connect

    def under(p: Any) -> bool:
        return isinstance(p, str | os.PathLike) and os.path.abspath(os.fspath(p)).startswith(prefix)

    def ro_open(file: Any, mode: str = "r", *a: Any, **kw: Any) -> Any:
        if _is_write_mode(mode) and under(file):
            raise erofs(file)
        return real_open(file, mode, *a, **kw)

    def ro_os_open(path: Any, flags: int, *a: Any, **kw: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and under(path):
            raise erofs(path)
        return real_os_open(path, flags, *a, **kw)

    def ro_connect(database: Any, *a: Any, **kw: Any) -> Any:
        if under(database):
            uri = f"file:{os.fspath(database)}?mode=ro"
            return real_connect(uri, *a, **{**kw, "uri": True})
        return real_connect(database, *a, **kw)

    def ro(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            if args and under(args[0]):
                raise erofs(args[0])
            return real(*args, **kw)

        return wrapper

    with monkeypatch.context() as m:
        m.setattr(builtins, "open", ro_open)
        m.setattr(os, "open", ro_os_open)
        m.setattr(sqlite3, "connect", ro_connect)
        for name in ("mkdir", "makedirs", "replace", "rename", "unlink", "rmdir", "link"):
            m.setattr(os, name, ro(getattr(os, name)))
        fresh = service_for(game)
        for op in (
            fresh.pack_summary,
            fresh.validate_pack,
            fresh.list_assets,
            lambda: fresh.get_asset_details(1),
        ):
            result = op()
            count("disk.readonly_project_read_injected")
            assert result.status.value == "success", result.summary

    def outside_sqlite(files: dict[str, bytes]) -> dict[str, bytes]:
        # sqlite may create -shm/-wal beside a read-only database (C code we cannot patch)
        return {k: v for k, v in files.items() if ".sqlite" not in k and "cache.db" not in k}

    assert outside_sqlite(tree_bytes(game)) == outside_sqlite(before)


# ------------------------------------------------------------------------------------------
# Registry writes that fail


REGISTRY_FAULTS = ("write", "fsync", "rename")


def registry_fault(
    monkeypatch: pytest.MonkeyPatch, meta: Path, kind: str, rng: random.Random
) -> Budget:
    """Make the next index.json write fail: a short write, an fsync or the final rename."""
    budget = Budget(rng.randrange(0, 400))
    if kind == "write":
        real_open = builtins.open

        def full_open(file: Any, mode: str = "r", *a: Any, **kw: Any) -> Any:
            fh = real_open(file, mode, *a, **kw)
            name = os.path.basename(os.fspath(file)) if isinstance(file, str | os.PathLike) else ""
            if _is_write_mode(mode) and name.startswith(".index.json."):
                return FullDiskFile(fh, budget, name)
            return fh

        monkeypatch.setattr(builtins, "open", full_open)
    elif kind == "fsync":
        real_fsync = os.fsync

        def failing_fsync(fd: int) -> None:
            if ".index.json." in fd_path(fd):
                budget.tripped += 1
                raise enospc(fd_path(fd))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", failing_fsync)
    else:
        real_replace = os.replace

        def failing_replace(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
            if os.fspath(dst) == str(meta / "index.json"):
                budget.tripped += 1
                raise OSError(errno.EIO, os.strerror(errno.EIO), os.fspath(dst))
            real_replace(src, dst, *a, **kw)

        monkeypatch.setattr(os, "replace", failing_replace)
    return budget


MUTATIONS: dict[str, Callable[[PackerService, Path, str], Any]] = {
    "register": lambda s, g, tag: s.register_asset(f"fresh/{tag}"),
    "new": lambda s, g, tag: s.create_asset(
        "glyph_bank", f"made/{tag}", [make_png(g.parent / "in" / f"{tag}.png", 8)], {"tile_size": 8}
    ),
    "exclude": lambda s, g, tag: s.exclude_asset_from_build(1),
    "include": lambda s, g, tag: s.include_asset_in_build(2),
    "relocate": lambda s, g, tag: s.relocate_asset(1, f"moved/{tag}", apply=True),
    "remove": lambda s, g, tag: s.remove_asset(3),
    "remove_with_files": lambda s, g, tag: s.remove_asset(3, delete_files=True, apply=True),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_registry_write_failure_changes_nothing(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    game = tmp_path / "game"
    svc = build_project(game, glyphs=2, tiles=1, sounds=1)
    assert svc.exclude_asset_from_build(2).status.value == "success"
    meta = Project(game).meta_dir
    for seed in range(REGISTRY_SEEDS * len(REGISTRY_FAULTS)):
        kind = REGISTRY_FAULTS[seed % len(REGISTRY_FAULTS)]
        rng = random.Random(f"{mutation}:{seed}")
        tag = f"t{seed}"
        registry_before = (meta / "index.json").read_bytes()
        # `register` needs its root to exist beforehand: that is not part of the mutation.
        if mutation == "register":
            write_unregistered_root(game / "assets", f"fresh/{tag}")
        workspace_before = {
            k: v for k, v in tree_bytes(game / "assets").items() if not k.startswith(".prometeu/")
        }
        with monkeypatch.context() as m:
            budget = registry_fault(m, meta, kind, rng)
            result = MUTATIONS[mutation](svc, game, tag)
        count(f"disk.registry_write_{kind}")
        context = f"{mutation} with a failing registry {kind} (seed {seed})"
        assert budget.tripped, f"{context}: the fault was never hit"
        assert result.status.value == "failed", f"{context}: {result.summary}"
        assert [d.code for d in result.diagnostics] == ["io.failed"], context
        assert (meta / "index.json").read_bytes() == registry_before, context
        assert not list(meta.glob(".index.json.*")), f"{context}: temp file left"
        after = {
            k: v for k, v in tree_bytes(game / "assets").items() if not k.startswith(".prometeu/")
        }
        assert after == workspace_before, f"{context}: the workspace changed"
        # Reads agree with the disk, and the same mutation now goes through.
        listed = {}
        for row in svc.list_assets().assets:
            if row.registered:
                assert row.asset_id is not None, context
                listed[row.asset_id] = row
        assert sorted(listed) == sorted(a.entry.asset_id for a in svc.snapshot().registered)
        assert all(not a.blocking for a in listed.values()), context
        if mutation == "register":
            shutil.rmtree(game / "assets" / "fresh" / tag)
    if mutation == "register":
        write_unregistered_root(game / "assets", "fresh/final")
    ok = MUTATIONS[mutation](svc, game, "final")
    assert ok.status.value == "success", ok.summary
