"""Concurrency (SPEC §9): many CLI processes on one project at once, and threads in one process.

* Processes: 4 writers (register / exclude / include / relocate their own assets), 2 packers
  and 1 reader, all real CLI processes (forked by one zygote per worker, so each worker can
  run many commands), started at once through a barrier. Every command exits cleanly, the
  registry ends canonical and exactly consistent with what the commands reported (no lost
  registration, distinct and per-writer increasing ids, the right inclusion flags and roots),
  and build/ ends as one coherent set.
* Threads: readers calling `list_assets()` / `pack_summary()` / `get_asset_details()` while a
  writer thread includes, excludes and relocates; no reader ever sees a half-applied write
  (a registered root that is missing, an entry without asset.json, the moved folder showing
  up as an unregistered root).
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_reliability_support import (
    HEAVY,
    Run,
    Zygote,
    assert_clean_exit,
    assert_coherent,
    build_project,
    count,
    service_for,
    write_unregistered_root,
)

from packer_tasks.artifact.reader import read_assets_pa
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.registry_store import load_registry, registry_bytes

WRITERS = 4
PACKERS = 2
ITERATIONS = 20 if HEAVY else 5
PACKS = 15 if HEAVY else 4
THREAD_WRITES = 600 if HEAVY else 120


@dataclass
class Worker:
    name: str
    zygote: Zygote
    runs: list[tuple[list[str], Run]] = field(default_factory=list)
    error: str | None = None

    def cli(self, game: Path, *argv: str) -> dict[str, Any]:
        run = self.zygote.run([*argv, "--json"], game, timeout=180)
        self.runs.append((list(argv), run))
        count("concurrency.cli_commands")
        assert_clean_exit(run, f"{self.name}: {argv}")
        result = run.json()
        if run.exit == 1:
            assert result.get("diagnostics"), f"{self.name}: {argv} exit 1 without a diagnostic"
        return result


def run_workers(workers: list[Worker], bodies: list[Callable[[Worker], None]]) -> None:
    barrier = threading.Barrier(len(workers))

    def main(w: Worker, body: Callable[[Worker], None]) -> None:
        try:
            barrier.wait(timeout=60)
            body(w)
        except BaseException:
            w.error = traceback.format_exc()

    threads = [
        threading.Thread(target=main, args=(w, b)) for w, b in zip(workers, bodies, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    errors = [f"{w.name}:\n{w.error}" for w in workers if w.error]
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, "\n".join(errors)


def test_concurrent_cli_processes_mutating_and_packing(tmp_path: Path) -> None:
    game = tmp_path / "game"
    build_project(game, glyphs=3, tiles=4, tile_size=16, sounds=2, wav_frames=4000)
    initial, _ = load_registry(Project(game).registry_path)
    assert initial is not None
    for i in range(WRITERS):
        for k in range(ITERATIONS):
            write_unregistered_root(game / "assets", f"w{i}/r{k}", seed=i + k)

    # Each writer's model of its own assets: root → (asset_id, included).
    models: list[dict[str, tuple[int, bool]]] = [{} for _ in range(WRITERS)]
    issued: list[list[int]] = [[] for _ in range(WRITERS)]

    def writer(i: int) -> Callable[[Worker], None]:
        def body(w: Worker) -> None:
            rng = random.Random(f"writer:{i}")
            model = models[i]
            moving = None  # (current root) of the asset this writer moves around
            for k in range(ITERATIONS):
                root = f"w{i}/r{k}"
                res = w.cli(game, "register", root)
                assert res["status"] == "success", res["summary"]
                new_id = res["affected_assets"][0]["asset_id"]
                issued[i].append(new_id)
                model[root] = (new_id, True)
                res = w.cli(game, "exclude", root)
                assert res["status"] == "success", res["summary"]
                model[root] = (new_id, False)
                if rng.random() < 0.6:
                    res = w.cli(game, "include", str(new_id))
                    assert res["status"] == "success", res["summary"]
                    model[root] = (new_id, True)
                if moving is None:
                    moving = root
                else:
                    target = f"w{i}/moved_{k}"
                    res = w.cli(game, "relocate", moving, target, "--yes")
                    assert res["status"] == "success", res["summary"]
                    model[target] = model.pop(moving)
                    moving = target

        return body

    def packer(w: Worker) -> None:
        for _ in range(PACKS):
            res = w.cli(game, "pack")
            assert res["status"] == "success", res["summary"]

    def reader(w: Worker) -> None:
        for k in range(PACKS * 2):
            res = w.cli(game, "list" if k % 2 == 0 else "summary")
            assert res["status"] == "success", res["summary"]
            for a in res["assets"]:
                assert not a.get("blocking"), f"reader saw a half-applied write: {a}"
                assert a.get("family") not in (None, "unknown"), a

    zygotes = [Zygote(tmp_path / f"z{n}") for n in range(WRITERS + PACKERS + 1)]
    try:
        workers = [Worker(f"writer{i}", zygotes[i]) for i in range(WRITERS)]
        workers += [Worker(f"packer{j}", zygotes[WRITERS + j]) for j in range(PACKERS)]
        workers.append(Worker("reader", zygotes[-1]))
        run_workers(workers, [*(writer(i) for i in range(WRITERS)), *([packer] * PACKERS), reader])
    finally:
        for z in zygotes:
            z.close()

    # The registry: valid, canonical, and exactly what the commands reported.
    path = Project(game).registry_path
    final, diags = load_registry(path)
    assert final is not None and not diags, [d.code for d in diags]
    assert path.read_bytes() == registry_bytes(final)
    ids = [e.asset_id for e in final.assets]
    assert len(ids) == len(set(ids))
    assert final.next_asset_id > max(ids)
    all_issued = [x for ids_i in issued for x in ids_i]
    assert len(all_issued) == len(set(all_issued)) == WRITERS * ITERATIONS
    for ids_i in issued:
        assert ids_i == sorted(ids_i), "one writer's registrations got decreasing ids"
    expected = {e.root: (e.asset_id, e.included_in_build) for e in initial.assets}
    for model in models:
        expected.update(model)
    got = {e.root: (e.asset_id, e.included_in_build) for e in final.assets}
    assert got == expected, "the registry lost or altered what a command reported done"

    # build/: coherent now, and after one more pack it is exactly the current build set.
    assert_coherent(game / "build")
    assert service_for(game).pack().status.value == "success"
    files = assert_coherent(game / "build")
    header_ids = [e["asset_id"] for e in read_assets_pa(files["assets.pa"]).asset_table]
    assert header_ids == sorted(i for i, inc in got.values() if inc)


def test_readers_never_see_a_half_applied_write(tmp_path: Path) -> None:
    game = tmp_path / "game"
    svc = build_project(game, glyphs=4, tiles=2, sounds=2, wav_frames=256)
    other = service_for(game)  # a second front end on the same project, same process
    reg, _ = load_registry(Project(game).registry_path)
    assert reg is not None
    ids = [e.asset_id for e in reg.assets]
    done = threading.Event()
    errors: list[str] = []
    reads: list[int] = []

    def guard(body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except BaseException:
                errors.append(traceback.format_exc())
            finally:
                if body is write:
                    done.set()

        return run

    def write() -> None:
        rng = random.Random("thread-writer")
        for k in range(THREAD_WRITES):
            asset_id = rng.choice(ids)
            choice = rng.random()
            if choice < 0.35:
                res = svc.exclude_asset_from_build(asset_id)
            elif choice < 0.7:
                res = svc.include_asset_in_build(asset_id)
            else:
                res = svc.relocate_asset(asset_id, f"moving/a{asset_id}/r{k}", apply=True)
            count("concurrency.thread_writes")
            assert res.status.value == "success", res.summary
            time.sleep(rng.uniform(0, 0.004))  # a writer that never pauses starves readers

    def check_list(service: Any) -> None:
        res = service.list_assets()
        assert res.status.value == "success", res.summary
        registered = [a for a in res.assets if a.registered]
        assert sorted(a.asset_id for a in registered) == ids
        assert not [a.root for a in res.assets if not a.registered], (
            "a moved root showed up as unregistered: the registry was not updated yet"
        )
        for a in registered:
            assert not a.blocking and a.family in ("glyph_bank", "sound_bank"), (
                f"half-applied write observed: {a}"
            )

    def check_summary(service: Any) -> None:
        res = service.pack_summary()
        assert res.status.value == "success", res.summary
        assert not res.diagnostics, [d.code for d in res.diagnostics]
        assert res.total == len(res.assets) <= len(ids)
        for a in res.assets:
            assert a.family in ("glyph_bank", "sound_bank") and a.asset_id in ids, a

    def check_details(service: Any, rng: random.Random) -> None:
        res = service.get_asset_details(rng.choice(ids))
        assert res.status.value == "success", res.summary
        assert res.asset is not None and not res.asset.blocking, [d.code for d in res.diagnostics]

    def read(service: Any, seed: int) -> Callable[[], None]:
        def body() -> None:
            rng = random.Random(seed)
            while not done.is_set():
                pick = rng.random()
                if pick < 0.4:
                    check_list(service)
                elif pick < 0.8:
                    check_summary(service)
                else:
                    check_details(service, rng)
                reads.append(1)
                count("concurrency.thread_reads")
                # Readers pause too: back-to-back readers starve the writer (see
                # test_a_writer_is_not_starved_by_continuous_readers).
                time.sleep(rng.uniform(0.002, 0.012))

        return body

    threads = [threading.Thread(target=guard(write))]
    threads += [threading.Thread(target=guard(read(s, n))) for n, s in enumerate([svc, svc, other])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, "\n".join(errors)
    assert len(reads) >= THREAD_WRITES // 4, f"only {len(reads)} reads ran during the writes"
    # Afterwards every front end sees the final state.
    final, _ = load_registry(Project(game).registry_path)
    assert final is not None
    for service in (svc, other):
        check_list(service)
        rows = {a.asset_id: a for a in service.list_assets().assets}
        for e in final.assets:
            assert rows[e.asset_id].root == e.root
            assert rows[e.asset_id].included_in_build == e.included_in_build
        assert service.pack_summary().total == len(final.build_set())


def test_a_writer_is_not_starved_by_continuous_readers(tmp_path: Path) -> None:
    """An editor polling `list_assets()` from two threads must not lock writers out: each
    write gets the lane within seconds (15 s, the lane timeout here), not never."""
    game = tmp_path / "game"
    build_project(game, glyphs=3, tiles=2, sounds=1, wav_frames=256)
    writer = service_for(game, lane_timeout=15.0)
    stop = threading.Event()
    errors: list[str] = []

    def poll() -> None:
        reader = service_for(game)
        try:
            while not stop.is_set():
                assert reader.list_assets().status.value == "success"
                count("concurrency.starvation_reads")
        except BaseException:
            errors.append(traceback.format_exc())

    readers = [threading.Thread(target=poll) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for k in range(6):
            t0 = time.monotonic()
            res = (
                writer.exclude_asset_from_build if k % 2 == 0 else writer.include_asset_in_build
            )(1)
            count("concurrency.starvation_writes")
            assert res.status.value == "success", (
                f"write {k} starved by readers for {time.monotonic() - t0:.1f}s: {res.summary}"
            )
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    assert not errors, "\n".join(errors)
