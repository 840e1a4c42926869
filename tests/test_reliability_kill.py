"""SIGKILL at random instants (SPEC §3 registry, §8.5 crash-safe publication, §9 write lane).

Every kill hits a real CLI process (forked by the zygote after imports, so the random delay
lands inside the operation, not in interpreter start-up; a few seeds also kill a plain
`python -m packer_tasks` from its very start). Delays come from a seeded RNG, so a failure
names the op and seed that reproduce it. For `pack` (~0.5 s here) half the kills land
anywhere and half inside its few-ms publication (timed from when build/.staging appears).
Sometimes the command that recovers is killed too, and a third one has to cope. The named
crashpoints of `pack` are covered by tests/test_pack_*.py; here the instants are random.

After each kill:
* `index.json` is valid, canonical JSON holding exactly the state before or after the
  mutation (never torn, no pre-existing entry lost or altered), every registered root has its
  `asset.json`, and a following command runs (no stale lock) and allocates an id above every
  id ever issued;
* for `pack`: the recovery the next packer command runs leaves build/ holding the complete
  previous or the complete new set, byte for byte, and nothing in build/.staging.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_png, popen_cli
from test_reliability_support import (
    HEAVY,
    OUTPUT_NAMES,
    Zygote,
    assert_clean_exit,
    assert_coherent,
    build_problems,
    build_project,
    count,
    read_build,
    service_for,
    which_set,
    write_unregistered_root,
)

from packer_tasks.artifact.staging import recover
from packer_tasks.models.registry import Registry
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.registry_store import load_registry, registry_bytes
from packer_tasks.workspace.snapshot import take_snapshot

MUTATION_SEEDS = 160 if HEAVY else 20
PACK_SEEDS = 60 if HEAVY else 10
READ_AFTER_KILL_SEEDS = 30 if HEAVY else 6
REAL_PROCESS_SEEDS = 12 if HEAVY else 2
OPS = ("register", "new", "exclude", "relocate", "remove")


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    with Zygote(tmp_path_factory.mktemp("zygote")) as z:
        yield z


# ------------------------------------------------------------------------------------------
# Registry mutations


def registry_of(game: Path) -> tuple[Registry, bytes]:
    path = Project(game).registry_path
    data = path.read_bytes()
    reg, diags = load_registry(path)
    assert reg is not None, f"registry unreadable after a kill: {[d.message for d in diags]}"
    assert not diags, f"registry has problems after a kill: {[d.code for d in diags]}"
    assert data == registry_bytes(reg), "registry is not canonical after a kill"
    return reg, data


def registered_roots_intact(game: Path) -> None:
    """Every registry entry points at a root whose asset.json carries the registry's uuid."""
    snap = take_snapshot(Project(game))
    for asset in snap.registered:
        blocking = [d.code for d in asset.diagnostics if d.blocking]
        assert not blocking, (
            f"asset {asset.entry.asset_id} at {asset.entry.root!r} is "
            f"half-applied after a kill: {blocking}"
        )


def _prepare(
    op: str, game: Path, reg: Registry, rng: random.Random, seed: int, inputs: list[Path]
) -> tuple[list[str], Callable[[Registry], Registry | None]]:
    """The CLI argv for one mutation and a function giving the expected after-state
    (from the observed registry, for the one fact the test cannot predict: a new uuid)."""
    if op == "register":
        root = write_unregistered_root(game / "assets", f"reg/r{seed}", seed=seed)
        decl = json.loads((game / "assets" / root / "asset.json").read_text())
        after, _ = reg.allocate(decl["asset_uuid"], root, True)
        return ["register", root, "--json"], lambda observed: after
    if op == "new":
        root = f"new/n{seed}"

        def after_new(observed: Registry) -> Registry | None:
            entry = observed.by_id(reg.next_asset_id)
            if entry is None:
                return None
            decl = json.loads((game / "assets" / root / "asset.json").read_text())
            assert decl["asset_uuid"] == entry.asset_uuid
            return reg.allocate(entry.asset_uuid, root, True)[0]

        files = [str(f) for f in rng.sample(inputs, k=rng.randint(1, len(inputs)))]
        return ["new", "glyph_bank", root, "--tile-size", "8", *files, "--json"], after_new
    entry = rng.choice(reg.assets)
    if op == "exclude":
        verb = "exclude" if entry.included_in_build else "include"
        after = reg.with_entry(
            entry.model_copy(update={"included_in_build": not entry.included_in_build})
        )
        return [verb, str(entry.asset_id), "--json"], lambda observed: after
    if op == "relocate":
        new_root = f"moved/m{seed}"
        after = reg.with_entry(entry.model_copy(update={"root": new_root}))
        return [
            "relocate",
            str(entry.asset_id),
            new_root,
            "--yes",
            "--json",
        ], lambda observed: after
    assert op == "remove"
    after = reg.without(entry.asset_id)
    extra = ["--delete-files", "--yes"] if seed % 2 else []
    return ["remove", str(entry.asset_id), *extra, "--json"], lambda observed: after


@pytest.mark.parametrize("op", OPS)
def test_registry_mutation_killed_at_random_instants(
    op: str, tmp_path: Path, zygote: Zygote
) -> None:
    game = tmp_path / "game"
    build_project(game, glyphs=4, tiles=2, sounds=1, seed=7)
    inputs = [
        make_png(tmp_path / "in" / f"p{i}.png", 8, [(0, 0, 0), (9 * i, 80, 200)]) for i in range(3)
    ]
    ever_issued: set[int] = {e.asset_id for e in registry_of(game)[0].assets}

    # Calibrate: how long the whole operation takes in a child, un-killed.
    durations = []
    for c in range(3):
        reg, _ = registry_of(game)
        argv, _after = _prepare(op, game, reg, random.Random(c), 10_000 + c, inputs)
        run = zygote.run(argv, game, timeout=60)
        assert_clean_exit(run, f"calibration {argv}")
        assert run.exit == 0, run.stdout
        durations.append(run.elapsed)
        ever_issued |= {e.asset_id for e in registry_of(game)[0].assets}
    span = 1.25 * max(durations)

    follow_up_root = 0
    seen_litter: set[Path] = set()
    for seed in range(MUTATION_SEEDS):
        rng = random.Random(f"{op}:{seed}")
        reg, before_bytes = registry_of(game)
        if len(reg.assets) < 2:
            svc = service_for(game)
            for _ in range(2):
                follow_up_root += 1
                root = write_unregistered_root(game / "assets", f"refill/f{follow_up_root}")
                assert svc.register_asset(root).status.value == "success"
            reg, before_bytes = registry_of(game)
            ever_issued |= {e.asset_id for e in reg.assets}
        argv, after_of = _prepare(op, game, reg, rng, seed, inputs)
        delay = rng.uniform(0.0, span)
        run = zygote.run(argv, game, delay=delay, timeout=60)
        count(f"kill.registry.{op}")
        context = f"op={op} seed={seed} delay={delay:.4f}s argv={argv}"
        if run.killed:
            count(f"kill.registry.{op}.landed_mid_operation")
        else:
            assert_clean_exit(run, context)
            assert run.exit == 0, f"{context}: {run.stdout}"

        observed, observed_bytes = registry_of(game)
        after = after_of(observed)
        if observed_bytes == before_bytes:
            assert run.killed, f"{context}: completed but the registry did not change"
            state = "before"
        else:
            assert observed == after, (
                f"{context}: registry is neither the state before nor "
                f"after the mutation:\n{observed_bytes.decode()}"
            )
            state = "after"
        count(f"kill.registry.{op}.ended_{state}")
        registered_roots_intact(game)
        litter = set((game / "assets").rglob(".*.tmp")) - seen_litter
        if litter:  # orphaned temp files of killed atomic writes (reported, harmless)
            count("kill.registry.temp_files_left_behind", len(litter))
            seen_litter |= litter
        ever_issued |= {e.asset_id for e in observed.assets}
        assert observed.next_asset_id > max(ever_issued), context

        # The next command is not wedged by the dead process and never reuses an id. It
        # first finishes what the kill left (a relocation journal, ...); sometimes that
        # command is killed too, at a random instant, and a third one has to cope.
        follow_up_root += 1
        root = write_unregistered_root(game / "assets", f"after/a{follow_up_root}", seed=seed)
        uid = json.loads((game / "assets" / root / "asset.json").read_text())["asset_uuid"]
        if rng.random() < 0.3:
            zygote.run(["register", root, "--json"], game, delay=rng.uniform(0, span))
            count(f"kill.registry.{op}.follow_up_killed_too")
            again, _ = registry_of(game)
            registered_roots_intact(game)
            ever_issued |= {e.asset_id for e in again.assets if e.asset_uuid != uid}
        done = registry_of(game)[0].by_uuid(uid)
        if done is not None:  # the killed follow-up got as far as its commit
            new_id = done.asset_id
        else:
            nxt = zygote.run(["register", root, "--json"], game, timeout=30)
            assert_clean_exit(nxt, f"command after {context}")
            result = nxt.json()
            assert result["status"] == "success", result["summary"]
            new_id = result["affected_assets"][0]["asset_id"]
        assert new_id > max(ever_issued), (
            f"{context}: asset_id {new_id} reuses or undercuts "
            f"an id already issued (max {max(ever_issued)})"
        )
        ever_issued.add(new_id)
        registered_roots_intact(game)
        assert not (game / "assets" / ".prometeu" / ".relocation.json").exists(), (
            f"{context}: a relocation journal survived a complete command"
        )


def test_relocate_killed_between_move_and_registry_write(tmp_path: Path, zygote: Zygote) -> None:
    """The widest window of a relocate: the folder has moved, the registry is not yet
    written. After SIGKILL there, the asset must still be found under one of its roots."""
    game = tmp_path / "game"
    build_project(game, glyphs=2, tiles=1, sounds=0)
    before, _ = registry_of(game)
    kill_before_save = (
        "import os, signal, packer_tasks.service.workspace_ops as s\n"
        "s.save_registry = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run = zygote.run(
        ["relocate", "1", "moved/elsewhere", "--yes", "--json"],
        game,
        prelude=kill_before_save,
        timeout=30,
    )
    count("kill.registry.relocate.deterministic_window")
    assert run.signal == 9
    after, _ = registry_of(game)
    assert after.assets == before.assets  # the registry write never happened
    registered_roots_intact(game)


# ------------------------------------------------------------------------------------------
# pack


def big_project(tmp_path: Path) -> Path:
    """A project whose --no-cache pack takes a good fraction of a second."""
    game = tmp_path / "game"
    build_project(
        game, glyphs=24, tiles=32, tile_size=32, sounds=4, wav_frames=100000, wav_channels=2, seed=3
    )
    return game


# Calibration only: log when publication (stage + promote) starts and ends in the child, so
# half of the random kills can be drawn from that window (a few ms of a ~0.5 s pack).
WINDOW_PRELUDE = """
import json, os, time
import packer_tasks.pipeline.pack as _pack

def _wrap(name):
    real = getattr(_pack, name)

    def wrapper(*a, **k):
        with open(os.environ["RELIABILITY_WINDOW_LOG"], "a") as fh:
            fh.write(json.dumps(time.monotonic()) + "\\n")
        try:
            return real(*a, **k)
        finally:
            with open(os.environ["RELIABILITY_WINDOW_LOG"], "a") as fh:
                fh.write(json.dumps(time.monotonic()) + "\\n")

    setattr(_pack, name, wrapper)

for _name in ("stage", "publish", "promote"):
    if callable(getattr(_pack, _name, None)):
        _wrap(_name)
"""


class PackStates:
    """Two registry states whose packs differ; their build outputs, byte for byte."""

    TOGGLED = 2  # asset excluded in state "B"

    def __init__(self, game: Path, zygote: Zygote) -> None:
        self.game = game
        self.build = game / "build"
        self.svc = service_for(game)
        self.sets: dict[str, dict[str, bytes]] = {}
        self.durations: dict[bool, list[float]] = {True: [], False: []}
        self.windows: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        log = game.parent / "publication-window.log"
        for state in ("A", "B", "A", "B"):
            self.set_state(state)
            use_cache = len(self.sets) == 2  # the second round goes through the cache
            log.unlink(missing_ok=True)
            run = zygote.run(
                self.argv(use_cache),
                game,
                timeout=120,
                prelude=WINDOW_PRELUDE,
                env={"RELIABILITY_WINDOW_LOG": str(log)},
            )
            assert_clean_exit(run, "calibration pack")
            assert run.exit == 0, run.stdout
            files = assert_coherent(self.build)
            if state in self.sets:  # same inputs, same bytes, with or without the cache
                assert files == self.sets[state]
            self.sets[state] = files
            self.durations[use_cache].append(run.elapsed)
            stamps = [float(x) for x in log.read_text().split()] if log.exists() else []
            if stamps:
                self.windows[use_cache].append((min(stamps) - run.t0, max(stamps) - run.t0))
        assert self.sets["A"] != self.sets["B"]
        self.current = "B"

    def kill_at(self, rng: random.Random, use_cache: bool) -> dict[str, Any]:
        """Half the kills at a random instant of the whole pack, half at a random instant
        of its publication (counted from the moment build/.staging appears or an output
        changes, or from when publication began in the calibration runs if neither does)."""
        windows = self.windows[use_cache]
        if windows and rng.random() < 0.5:
            length = max(end - start for start, end in windows)
            return {
                "delay": rng.uniform(0.0, 1.2 * length),
                "watch": [self.build / n for n in (".staging", *OUTPUT_NAMES)],
                "watch_limit": min(start for start, _ in windows),
            }
        return {"delay": rng.uniform(0.0, self.span(use_cache))}

    @staticmethod
    def argv(use_cache: bool) -> list[str]:
        return [*([] if use_cache else ["--no-cache"]), "pack", "--json"]

    def reset(self) -> None:
        """Bring build/ back to the pack of the current state (after a failed test)."""
        self.set_state(self.current)
        assert self.svc.pack().status.value == "success"
        assert read_build(self.build) == self.sets[self.current]

    def set_state(self, state: str) -> None:
        op = self.svc.include_asset_in_build if state == "A" else self.svc.exclude_asset_from_build
        assert op(self.TOGGLED).status.value == "success"

    def span(self, use_cache: bool) -> float:
        return 1.15 * max(self.durations[use_cache])


@pytest.fixture(scope="module")
def pack_states(tmp_path_factory: pytest.TempPathFactory, zygote: Zygote) -> PackStates:
    return PackStates(big_project(tmp_path_factory.mktemp("pack")), zygote)


def check_recovery_on_copy(
    build: Path, tmp: Path, old: dict[str, bytes], new: dict[str, bytes], context: str
) -> str:
    """Run the packer's recovery on a copy of build/: the complete old or new set results
    (new whenever a sealed publication was left)."""
    copy = tmp / "recovery-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(build, copy)
    staging = copy / ".staging"
    sealed = staging.is_dir() and any((d / "COMMIT.json").exists() for d in staging.iterdir())
    recover(copy)
    problems = build_problems(copy)
    assert not problems, f"{context}: after recovery build/ is not coherent: {problems}"
    got = which_set(read_build(copy), {"old": old, "new": new})
    assert got is not None, f"{context}: after recovery build/ is a mix of two packs"
    if sealed:
        assert got == "new", f"{context}: a sealed publication was rolled back, not forward"
    return got


def test_pack_killed_at_random_instants(
    tmp_path: Path, zygote: Zygote, pack_states: PackStates
) -> None:
    states = pack_states
    states.reset()
    game, build = states.game, states.build
    for seed in range(PACK_SEEDS):
        rng = random.Random(f"pack:{seed}")
        old_state = states.current
        new_state = "A" if old_state == "B" else "B"
        states.set_state(new_state)
        old, new = states.sets[old_state], states.sets[new_state]
        use_cache = seed % 3 == 2
        kill = states.kill_at(rng, use_cache)
        run = zygote.run(states.argv(use_cache), game, timeout=120, **kill)
        context = f"seed={seed} kill={kill} cache={use_cache}"
        count("kill.pack.random_instant")
        if not run.killed:
            assert_clean_exit(run, context)
            assert run.exit == 0 and read_build(build) == new, context
            states.current = new_state
            continue
        staging_left = (build / ".staging").exists()
        count("kill.pack.left_staging" if staging_left else "kill.pack.no_staging")
        if not staging_left:  # no publication in flight: build/ must be one whole set
            assert which_set(read_build(build), {"old": old, "new": new}), context
        if check_recovery_on_copy(build, tmp_path, old, new, context) == "new":
            count("kill.pack.rolled_forward")

        # The next packer command (a pack, with the cache: a torn cache write must not be
        # served) recovers, packs, and leaves exactly the new set.
        nxt = zygote.run(["pack", "--json"], game, timeout=120)
        assert_clean_exit(nxt, f"pack after kill {context}")
        assert nxt.json()["status"] == "success", nxt.stdout
        files = assert_coherent(build)
        assert files == new, f"{context}: the pack after the kill produced different bytes"
        states.current = new_state


def test_killed_pack_then_read_commands_leave_one_complete_set(
    zygote: Zygote, pack_states: PackStates
) -> None:
    """SPEC §8.5: build/ is whole 'once the next packer command has run' — any command,
    not only `pack`. Kills are aimed at the staging/promotion end of the pack."""
    states = pack_states
    states.reset()
    game, build = states.game, states.build
    commands = (
        ["summary", "--json"],
        ["validate", "--json"],
        ["list", "--json"],
        ["show", "1", "--json"],
    )
    for seed in range(READ_AFTER_KILL_SEEDS):
        rng = random.Random(f"read-after-kill:{seed}")
        old_state = states.current
        new_state = "A" if old_state == "B" else "B"
        states.set_state(new_state)
        old, new = states.sets[old_state], states.sets[new_state]
        kill = states.kill_at(rng, False)
        run = zygote.run(states.argv(False), game, timeout=120, **kill)
        count("kill.pack.then_read_command")
        if not (build / ".staging").exists():  # nothing in flight: one whole set already
            assert which_set(read_build(build), {"old": old, "new": new}), f"seed={seed}"
        argv = commands[seed % len(commands)]
        if seed % 2:  # the command that recovers is killed too, at a random instant
            zygote.run(argv, game, delay=rng.uniform(0.0, 0.15))
            count("kill.pack.recovering_command_killed_too")
            assert not build_problems(build, allow_staging=True) or (build / ".staging").exists()
        nxt = zygote.run(argv, game, timeout=60)
        context = f"seed={seed} kill={kill} killed={run.killed} then {argv[0]}"
        assert_clean_exit(nxt, context)
        problems = build_problems(build)
        assert not problems, f"{context}: {problems}"
        got = which_set(read_build(build), {old_state: old, new_state: new})
        assert got is not None, f"{context}: build/ is a mix of two packs"
        states.current = got
        if got != new_state:
            states.set_state(got)


@pytest.mark.parametrize("crashpoint", ["staged_pa", "committed", "promoted_1"])
def test_read_command_after_a_crash_at_a_crashpoint(
    crashpoint: str, tmp_path: Path, zygote: Zygote
) -> None:
    """The deterministic form of the test above (one named instant per phase)."""
    game = tmp_path / "game"
    svc = build_project(game, glyphs=2, sounds=1)
    assert svc.pack().status.value == "success"
    old = read_build(game / "build")
    assert svc.exclude_asset_from_build(1).status.value == "success"
    run = zygote.run(["pack", "--json"], game, env={"PROMETEU_PACKER_CRASH_AT": crashpoint})
    assert run.signal == 9, run.stderr
    count("kill.pack.crashpoint_then_read_command")
    nxt = zygote.run(["summary", "--json"], game)
    assert_clean_exit(nxt, "summary after the crash")
    problems = build_problems(game / "build")
    assert not problems, f"after a crash at {crashpoint} and `summary`: {problems}"
    new = service_for(game)
    expected = old if crashpoint == "staged_pa" else None
    files = read_build(game / "build")
    if expected is not None:
        assert files == expected, "an unsealed publication must be discarded"
    else:
        assert new.pack().status.value == "success"
        assert files == read_build(game / "build"), "a sealed publication must roll forward"


def test_pack_of_a_plain_cli_process_killed_from_its_start(
    tmp_path: Path, zygote: Zygote, pack_states: PackStates
) -> None:
    """No zygote: `python -m packer_tasks pack` killed anywhere in its whole life."""
    states = pack_states
    states.reset()
    game = states.game
    t0 = time.monotonic()
    proc = popen_cli("--no-cache", "pack", "--json", cwd=game)
    proc.communicate(timeout=120)
    lifetime = time.monotonic() - t0
    for seed in range(REAL_PROCESS_SEEDS):
        rng = random.Random(f"real:{seed}")
        old_state = states.current
        new_state = "A" if old_state == "B" else "B"
        states.set_state(new_state)
        old, new = states.sets[old_state], states.sets[new_state]
        delay = rng.uniform(0.3 * lifetime, 1.1 * lifetime)
        proc = popen_cli("--no-cache", "pack", "--json", cwd=game)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.communicate(timeout=60)
        count("kill.pack.plain_process")
        context = f"seed={seed} delay={delay:.3f}s rc={proc.returncode}"
        check_recovery_on_copy(states.build, tmp_path, old, new, context)
        nxt = zygote.run(["pack", "--json"], game, timeout=120)
        assert_clean_exit(nxt, context)
        assert assert_coherent(states.build) == new, context
        states.current = new_state


def test_unique_ids_survive_a_storm_of_killed_registrations(tmp_path: Path, zygote: Zygote) -> None:
    """Many registrations killed at random, then the survivors: ids strictly increase in
    the order they became durable, and none is ever handed out twice."""
    game = tmp_path / "game"
    build_project(game, glyphs=1, tiles=1, sounds=0)
    seen: dict[int, str] = {}
    n = 120 if HEAVY else 30
    for seed in range(n):
        root = write_unregistered_root(game / "assets", f"storm/s{seed}", seed=seed)
        uid = json.loads((game / "assets" / root / "asset.json").read_text())["asset_uuid"]
        rng = random.Random(f"storm:{seed}")
        zygote.run(["register", root, "--json"], game, delay=rng.uniform(0, 0.05), timeout=30)
        count("kill.registry.register_storm")
        reg, _ = registry_of(game)
        for e in reg.assets:
            assert seen.setdefault(e.asset_id, e.asset_uuid) == e.asset_uuid, (
                f"asset_id {e.asset_id} was issued to two different assets"
            )
        if reg.by_uuid(uid) is None:  # killed before the commit: register it for real
            res = service_for(game).register_asset(root)
            assert res.status.value == "success"
            new_id = res.affected_assets[0].asset_id
            assert new_id is not None and new_id > max(seen)
            seen[new_id] = uid
            reg, _ = registry_of(game)
        assert reg.next_asset_id > max(seen)
    assert len(set(seen.values())) == len(seen)
