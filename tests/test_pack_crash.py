"""Crash safety of publication (SPEC §8 step 5): a `pack` killed at any moment leaves
`build/` holding the complete previous set (A) or the complete new set (B) once the next
packer command has run; never a mix, never a torn file, no staging left. A promotion that
fails in-process (disk full) reports `failed`/`promotion` and leaves build/ as it was."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import OUTPUTS, REPO, cli_env, glyph_decl, run_cli
from independent_reader import pretty, read_pa
from PIL import Image

from packer_tasks.artifact import staging
from packer_tasks.artifact.build_record import RECORD_FILE
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.settings import CacheConfig

BEFORE_COMMIT = [
    "staged_pa",
    "staged_asset_table.json",
    "staged_preload.json",
    "staged_asset_table_metadata.json",
]
AFTER_COMMIT = ["committed", "promoted_0", "promoted_1", "promoted_2", "promoted_3", "cleaned"]
BANKS = 150

Files = dict[str, bytes]


# -- a project big enough that a pack takes a noticeable time --------------------------------


def tile_png(seed: int) -> bytes:
    img = Image.new("RGB", (8, 8))
    img.putdata(
        [
            (((x + seed) % 2) * 128, ((y * seed + x // 4) % 2) * 128, (seed % 3) * 96)
            for y in range(8)
            for x in range(8)
        ]
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def bank_decl(i: int, *, preload: bool) -> dict[str, Any]:
    asset_uuid = str(uuid.UUID(int=i + 1, version=4))
    decl = glyph_decl(asset_uuid, f"bank_{i:03d}", ("a.png", "b.png"))
    decl["preload"] = {"enabled": preload}
    return decl


def make_big_project(root: Path, banks: int = BANKS) -> None:
    tiles = [tile_png(s) for s in range(12)]
    reg: dict[str, Any] = {"assets": [], "next_asset_id": banks + 1, "schema_version": 1}
    for i in range(banks):
        folder = root / "assets" / f"banks/b{i:03d}"
        folder.mkdir(parents=True)
        (folder / "a.png").write_bytes(tiles[i % 12])
        (folder / "b.png").write_bytes(tiles[(i * 5 + 1) % 12])
        decl = bank_decl(i, preload=i < 16)
        (folder / "asset.json").write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")
        reg["assets"].append(
            {
                "asset_id": i + 1,
                "asset_uuid": decl["asset_uuid"],
                "included_in_build": True,
                "root": f"banks/b{i:03d}",
            }
        )
    meta = root / "assets/.prometeu"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "index.json").write_text(json.dumps(reg, indent=2, sort_keys=True) + "\n")


def change_to_b(root: Path, banks: int) -> None:
    """State B differs from A in every output: tiles (assets.pa, metadata digests), a name
    (asset_table.json) and the preload set (preload.json)."""
    for i in range(0, banks, 7):
        (root / f"assets/banks/b{i:03d}/a.png").write_bytes(tile_png(100 + i))
    path = root / "assets/banks/b003/asset.json"
    decl = json.loads(path.read_text())
    decl["name"] = "renamed_bank"
    decl["preload"] = {"enabled": False}
    path.write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")
    path = root / "assets/banks/b020/asset.json"
    decl = json.loads(path.read_text())
    decl["preload"] = {"enabled": True}
    path.write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")


# -- running and checking ------------------------------------------------------------------------


def argv(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "packer_tasks", "--project", str(project), *args]


def env(crash_at: str | None = None) -> dict[str, str]:
    return cli_env() if crash_at is None else cli_env(**{staging.CRASH_ENV: crash_at})


def crash(project: Path, *args: str, crash_at: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a real process that SIGKILLs itself at the named crash point."""
    return subprocess.run(
        argv(project, *args),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env(crash_at),
        check=False,
    )


def run(project: Path, *args: str) -> tuple[int, str, str]:
    """The next command after a kill (a fresh command; in this process)."""
    return run_cli("--project", str(project), *args, cwd=REPO, timeout=120)


def pack_ok(project: Path) -> dict[str, Any]:
    code, out, err = run(project, "pack", "--json")
    assert code == 0, out + err
    result: dict[str, Any] = json.loads(out)
    assert result["status"] == "success"
    return result


def outputs(build: Path) -> Files:
    return {n: (build / n).read_bytes() for n in OUTPUTS if (build / n).is_file()}


def check_coherent_set(files: Files) -> None:
    """A complete set: the independent reader accepts assets.pa and the companions are its
    header (the metadata companion lists the same assets)."""
    assert sorted(files) == sorted(OUTPUTS)
    pa = read_pa(files["assets.pa"])
    assert files["asset_table.json"] == pretty(pa.asset_table)
    assert files["preload.json"] == pretty(pa.preload)
    meta = json.loads(files["asset_table_metadata.json"])
    assert [m["asset_id"] for m in meta["assets"]] == [e["asset_id"] for e in pa.asset_table]


def which_set(build: Path, a: Files, b: Files) -> str:
    """'A' or 'B' when build/ holds exactly that set and nothing else."""
    names = sorted(p.name for p in build.iterdir())
    assert names == sorted(OUTPUTS), f"build/ holds {names}"
    files = outputs(build)
    check_coherent_set(files)
    if files == a:
        return "A"
    if files == b:
        return "B"
    mixed = {n: "A" if files[n] == a[n] else "B" if files[n] == b[n] else "?" for n in files}
    raise AssertionError(f"build/ is a mix of sets: {mixed}")


def assert_no_torn_file(build: Path, a: Files, b: Files) -> None:
    """Right after a kill (before any recovery): each output is whole, from A or from B."""
    for name, data in outputs(build).items():
        assert data in (a[name], b[name]), f"{name} is torn or foreign"


class Break:
    """Temporarily block the project (structural problem) so that the next `pack` can only
    recover publications and must not build."""

    def __init__(self, project: Path) -> None:
        self.path = project / "assets/banks/b001/asset.json"
        self.original = self.path.read_bytes()

    def __enter__(self) -> None:
        decl = json.loads(self.original)
        decl["output"]["metadata"]["tile_size"] = 12
        self.path.write_text(json.dumps(decl))

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)


def recover_via_blocked_pack(project: Path) -> None:
    with Break(project):
        code, out, err = run(project, "pack", "--json")
    assert code == 1, out + err
    assert json.loads(out)["status"] == "blocked"


def build_world(project: Path, banks: int) -> dict[str, Any]:
    make_big_project(project, banks)
    pack_ok(project)
    a = outputs(project / "build")
    change_to_b(project, banks)
    # Pack B once uninterrupted, timing the whole run and the publication window (from
    # build/.staging appearing to the process exit) so random kills can aim at both.
    build = project / "build"
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv(project, "pack"),
        cwd=REPO,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staged_at = None
    while proc.poll() is None:
        if staged_at is None and (build / ".staging").exists():
            staged_at = time.monotonic()
        time.sleep(0.0005)
    end = time.monotonic()
    assert proc.returncode == 0
    wall = end - t0
    window = end - staged_at if staged_at is not None else 0.05
    b = outputs(build)
    check_coherent_set(a)
    check_coherent_set(b)
    for name in OUTPUTS:
        assert a[name] != b[name], f"{name} is the same in A and B: the test could not tell"
    return {"project": project, "A": a, "B": b, "wall": wall, "window": window}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """24 banks, for the named crash points (the pack's length does not matter there)."""
    return build_world(tmp_path_factory.mktemp("crash") / "game", 24)


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """150 glyph banks: a pack takes long enough for random kills to land anywhere."""
    return build_world(tmp_path_factory.mktemp("crash_big") / "game", BANKS)


def reset_to_a(world: dict[str, Any]) -> Path:
    build: Path = world["project"] / "build"
    shutil.rmtree(build)
    build.mkdir()
    for name, data in world["A"].items():
        (build / name).write_bytes(data)
    return build


# -- named crash points ------------------------------------------------------------------------


POINTS = BEFORE_COMMIT + AFTER_COMMIT
# The next packer command after the kill: a pack that can only recover (the project is
# blocked), `list` or `inspect`; every command must finish or discard the publication.
NEXT = ("blocked pack", "list", "inspect")


@pytest.mark.parametrize(
    ("point", "next_command"),
    [(p, NEXT[i % len(NEXT)]) for i, p in enumerate(POINTS)],
)
def test_kill_at_named_point(world: dict[str, Any], point: str, next_command: str) -> None:
    project, a, b = world["project"], world["A"], world["B"]
    build = reset_to_a(world)
    proc = crash(project, "pack", crash_at=point)
    assert proc.returncode == -signal.SIGKILL, f"{point} was never reached: {proc.stderr}"
    assert_no_torn_file(build, a, b)
    if point != "cleaned":
        assert (build / ".staging").is_dir()

    if next_command == "blocked pack":
        recover_via_blocked_pack(project)
    else:
        code, out, err = run(project, next_command)
        assert code == 0, out + err

    assert not (build / ".staging").exists(), f"`{next_command}` left build/.staging"
    assert which_set(build, a, b) == ("A" if point in BEFORE_COMMIT else "B")


def test_kill_then_real_pack_publishes_b(world: dict[str, Any]) -> None:
    project, a, b = world["project"], world["A"], world["B"]
    build = reset_to_a(world)
    assert crash(project, "pack", crash_at="promoted_1").returncode == -signal.SIGKILL
    result = pack_ok(project)
    assert result["cache_misses"] == 0  # everything was cached by the killed run
    assert not (build / ".staging").exists()
    assert which_set(build, a, b) == "B"


# -- random kills ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_random_instant(big_world: dict[str, Any], seed: int) -> None:
    world = big_world
    project, a, b = world["project"], world["A"], world["B"]
    rng = random.Random(seed)
    build = reset_to_a(world)
    proc = subprocess.Popen(
        argv(project, "pack"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env=env(),
    )
    try:
        if seed % 2 == 0:
            time.sleep(rng.uniform(0.0, 1.2 * world["wall"]))
        else:  # aim at the publication window: shortly after staging begins
            deadline = time.monotonic() + 5 * world["wall"] + 5
            while not (build / ".staging").exists() and proc.poll() is None:
                assert time.monotonic() < deadline, "pack never started staging"
                time.sleep(0.0005)
            time.sleep(rng.uniform(0.0, 1.05) * world["window"])
        proc.send_signal(signal.SIGKILL)
    finally:
        code = proc.wait(timeout=60)
    assert code in (0, -signal.SIGKILL)
    assert_no_torn_file(build, a, b)

    recover_via_blocked_pack(project)

    assert not (build / ".staging").exists()
    got = which_set(build, a, b)
    if code == 0:
        assert got == "B"


# -- promotion failing in-process (disk full) ----------------------------------------------------


def small_project(root: Path) -> Project:
    reg: dict[str, Any] = {"assets": [], "next_asset_id": 3, "schema_version": 1}
    for i in range(2):
        folder = root / "assets" / f"g{i}"
        folder.mkdir(parents=True)
        (folder / "a.png").write_bytes(tile_png(i))
        (folder / "b.png").write_bytes(tile_png(i + 5))
        decl = bank_decl(i, preload=True)
        (folder / "asset.json").write_text(json.dumps(decl))
        reg["assets"].append(
            {
                "asset_id": i + 1,
                "asset_uuid": decl["asset_uuid"],
                "included_in_build": True,
                "root": f"g{i}",
            }
        )
    (root / "assets/.prometeu").mkdir(parents=True)
    (root / "assets/.prometeu/index.json").write_text(
        json.dumps(reg, indent=2, sort_keys=True) + "\n"
    )
    return Project(root)


def tree_state(folder: Path) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    if not folder.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            out[str(p.relative_to(folder))] = (digest, st.st_ino, st.st_mtime_ns)
    return out


def failing_replace(build: Path, fail_at: int) -> Callable[..., None]:
    """os.replace that fails with ENOSPC on the `fail_at`-th rename into build/."""
    real = os.replace
    calls = {"n": 0}

    def replace(src: Any, dst: Any, **kw: Any) -> None:
        if Path(dst).parent == build and Path(src).parent.parent.name == ".staging":
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        real(src, dst, **kw)

    return replace


def service(project: Project) -> PackerService:
    return PackerService(project, cache=CacheConfig(None))


@pytest.fixture
def small(tmp_path: Path) -> tuple[Project, dict[str, tuple[Any, ...]]]:
    project = small_project(tmp_path / "small")
    assert service(project).pack().status.value == "success"
    before = tree_state(project.build_dir)
    assert sorted(before) == sorted(OUTPUTS)
    (project.root / "assets/g0/a.png").write_bytes(tile_png(77))  # state B
    return project, before


def assert_failed_promotion(project: Project, before: dict[str, tuple[Any, ...]]) -> None:
    result = service(project).pack()
    assert result.status.value == "failed"
    assert result.failure_stage is not None and result.failure_stage.value == "promotion"
    assert result.execution_began is True
    assert "build.promotion_failed" in [d.code for d in result.diagnostics]
    assert result.assets_pa is None
    assert tree_state(project.build_dir) == before, "build/ changed after a failed promotion"
    assert not (project.build_dir / ".staging").exists()


@pytest.mark.parametrize("fail_at", [1, 2, 4])
def test_promotion_rename_fails_disk_full(
    small: tuple[Project, Any], fail_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = small
    monkeypatch.setattr(os, "replace", failing_replace(project.build_dir, fail_at))
    assert_failed_promotion(project, before)
    monkeypatch.undo()
    # nothing is left that a later command would roll forward, and the next pack works
    assert service(project).pack().status.value == "success"
    check_coherent_set(outputs(project.build_dir))
    assert tree_state(project.build_dir) != before
    assert not (project.build_dir / ".staging").exists()


@pytest.mark.parametrize("victim", ["assets.pa", "preload.json", "COMMIT.json"])
def test_staging_write_fails_disk_full(
    small: tuple[Project, Any], victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = small
    real_open = open

    def full_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        name = Path(file).name
        if "w" in mode and (name == victim or name.startswith(f".{victim}.")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, mode, *args, **kw)

    monkeypatch.setattr("builtins.open", full_open)
    assert_failed_promotion(project, before)


def test_failed_first_pack_leaves_no_build_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = small_project(tmp_path / "fresh")
    monkeypatch.setattr(os, "replace", failing_replace(project.build_dir, 1))
    result = service(project).pack()
    assert result.status.value == "failed" and result.failure_stage is not None
    assert result.failure_stage.value == "promotion"
    assert not project.build_dir.exists()


class Killed(BaseException):
    """Stands in for SIGKILL inside the process: nothing after it runs."""


def test_kill_during_rollback_is_finished_by_recovery(
    small: tuple[Project, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = small
    monkeypatch.setattr(os, "replace", failing_replace(project.build_dir, 3))

    def crash(name: str) -> None:
        if name == "rolled_back_1":
            raise Killed

    monkeypatch.setattr(staging, "crashpoint", crash)
    with pytest.raises(Killed):
        service(project).pack()
    monkeypatch.undo()
    assert (project.build_dir / ".staging").is_dir()
    # the next packer command (a pack blocked by a broken registry) only recovers
    registry = project.registry_path.read_bytes()
    project.registry_path.write_text("{ not json")
    result = service(project).pack()
    project.registry_path.write_bytes(registry)
    assert result.status.value == "blocked"
    assert tree_state(project.build_dir) == before


def _sealed_folder(build: Path, new: bytes = b"new ") -> Path:
    """A staged set sealed by the real `stage` over whatever build/ holds now."""
    outputs = {n: new + n.encode() for n in OUTPUTS if n not in ("assets.pa", RECORD_FILE)}

    def write_pa(fh: Any) -> str:
        fh.write(new + b"assets.pa")
        return "0" * 64  # any digest: recovery does not check the record

    build.mkdir(parents=True, exist_ok=True)
    return staging.stage(build, "x" * 20, write_pa, outputs, "k" * 64).folder


def test_recovery_rolls_forward_a_sealed_folder_over_the_build_it_was_staged_on(
    tmp_path: Path,
) -> None:
    build = tmp_path / "build"
    for name in OUTPUTS:
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_bytes(b"old " + name.encode())
    folder = _sealed_folder(build)
    os.replace(folder / "assets.pa", build / "assets.pa")  # killed after the first rename
    report = staging.recover(build)
    assert report.rolled_forward == ["x" * 20] and not report.superseded
    assert sorted(p.name for p in build.iterdir()) == sorted(OUTPUTS)
    assert all((build / n).read_bytes().startswith(b"new ") for n in OUTPUTS[:-1])


def test_recovery_never_rolls_an_old_folder_over_a_newer_build(tmp_path: Path) -> None:
    """build/ written after the folder was sealed (a newer pack, a hand edit that replaced
    a file): the folder is discarded, build/ is left exactly as it is."""
    build = tmp_path / "build"
    for name in OUTPUTS:
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_bytes(b"old " + name.encode())
    _sealed_folder(build)
    for name in OUTPUTS:  # a newer complete set, published by replacing each file
        (build / f"{name}.tmp").write_bytes(b"newer " + name.encode())
        os.replace(build / f"{name}.tmp", build / name)
    before = {n: (build / n).read_bytes() for n in OUTPUTS}
    report = staging.recover(build)
    assert report.superseded == ["x" * 20] and not report.rolled_forward
    assert not (build / ".staging").exists()
    assert {n: (build / n).read_bytes() for n in OUTPUTS} == before


def test_recovery_discards_a_sealed_folder_that_cannot_prove_where_it_belongs(
    tmp_path: Path,
) -> None:
    """A seal without file identities (an older packer) cannot prove build/ is still the
    one it was staged on: it is discarded, never promoted; the build record then makes
    the next build rebuild whatever is not a complete set."""
    build = tmp_path / "build"
    folder = build / ".staging" / ("x" * 20)
    folder.mkdir(parents=True)
    for name in OUTPUTS:
        (build / name).write_bytes(b"old " + name.encode())
        (folder / name).write_bytes(b"new " + name.encode())
    files = {n: {"blake3": "0" * 64, "size": 4 + len(n)} for n in OUTPUTS}
    (folder / "COMMIT.json").write_text(json.dumps({"files": files, "operation_id": "x" * 20}))
    report = staging.recover(build)
    assert report.superseded == ["x" * 20]
    assert sorted(p.name for p in build.iterdir()) == sorted(OUTPUTS)
    assert all((build / n).read_bytes() == b"old " + n.encode() for n in OUTPUTS)
