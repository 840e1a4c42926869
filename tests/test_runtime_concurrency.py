"""Runtime concurrency (SPEC §9): reads never see half a write; writers are serialized.

In one process, reader threads (list_assets, get_asset_details, pack_summary) run against one
service while a writer thread commits relocations back and forth, exclude/include and
registrations; every read result must describe a registry and a workspace that agree. Across
processes, two loops of real CLI processes (each loop forks its commands from its own zygote,
see test_reliability_support) mutate and pack one project at once; the registry and build/
must end complete and coherent.
"""

from __future__ import annotations

import itertools
import json
import shutil
import struct
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import copy_project
from test_reliability_support import Zygote

from packer_tasks.events import CollectingSink
from packer_tasks.models.event import EventKind
from packer_tasks.models.registry import Registry
from packer_tasks.models.results import Status
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.settings import CacheConfig

TILES = ("world/tiles_8", "world/tiles_moved")  # asset 2 moves between these
MISSING_CODES = {"asset.root_missing", "declaration.missing", "asset.uuid_mismatch"}
STARTER_UUIDS = {
    1: "5322b49c-8a91-4366-a465-16b9908b4797",
    2: "37054bc7-66f3-42a0-9886-28f8a5fa6c31",
    3: "20fc04a8-3e8f-4994-8ccb-f37b01780f05",
    4: "60047d13-0ebc-45c8-b8fe-d04f0644e202",
    5: "2f57fd1e-2f75-431d-b480-3420af977e25",
}


def add_unregistered_roots(project: Project, count: int) -> dict[str, str]:
    """Copies of hud_icons under extra/, each with a fresh uuid: root → uuid."""
    roots: dict[str, str] = {}
    for i in range(count):
        root = f"extra/copy_{i}"
        dst = project.root_dir(root)
        shutil.copytree(project.root_dir("ui/hud_icons"), dst)
        decl = json.loads((dst / "asset.json").read_text("utf-8"))
        decl["asset_uuid"] = roots[root] = str(uuid.uuid4())
        decl["name"] = f"copy_{i}"
        decl["preload"] = {"enabled": False}  # hud_icons' explicit slot would clash
        (dst / "asset.json").write_text(json.dumps(decl, indent=2) + "\n", "utf-8")
    return roots


# -- one process, many threads ------------------------------------------------------------------


def check_list(result: Any, problems: list[str]) -> None:
    if result.status is not Status.SUCCESS or result.blockers:
        problems.append(f"list: {result.status} {result.summary}")
    registered = [a for a in result.assets if a.registered]
    ids = [a.asset_id for a in registered]
    roots = [a.root for a in result.assets]
    if len(set(ids)) != len(ids) or len(set(roots)) != len(roots):
        problems.append(f"list: duplicate ids or roots {ids} {roots}")
    if not {1, 2, 3, 4, 5} <= set(ids):
        problems.append(f"list: starter assets missing from {ids}")
    for a in result.assets:
        if a.family is None or a.artifact_count == 0 or a.blocking:
            problems.append(f"list: {a.root} (id {a.asset_id}) read half-written: {a}")
        if a.asset_id == 2 and a.root not in TILES:
            problems.append(f"list: asset 2 at {a.root}")
    if {d.code for d in result.diagnostics} & MISSING_CODES:
        problems.append(f"list: {[d.code for d in result.diagnostics]}")


def check_details(result: Any, problems: list[str]) -> None:
    codes = {d.code for d in result.diagnostics}
    a = result.asset
    if result.status is not Status.SUCCESS or a is None or codes & MISSING_CODES:
        problems.append(f"details: {result.status} {result.summary} {sorted(codes)}")
        return
    if a.asset_id != 2 or a.root not in TILES or a.asset_uuid != STARTER_UUIDS[2]:
        problems.append(f"details: inconsistent identity {a.asset_id} {a.root} {a.asset_uuid}")
    if a.declaration is None or not a.inputs or not all(i.exists for i in a.inputs):
        problems.append(f"details: {a.root} declaration/inputs not seen whole")
    if result.blockers:
        problems.append(f"details: blockers {[d.code for d in result.blockers]}")


def check_summary(result: Any, problems: list[str]) -> None:
    if result.status is not Status.SUCCESS or result.blockers:
        problems.append(f"summary: {result.status} {result.summary}")
    ids = [a.asset_id for a in result.assets]
    if ids != sorted(set(ids)) or result.total != len(ids):
        problems.append(f"summary: ids {ids} total {result.total}")
    if not {1, 2, 4, 5} <= set(ids):
        problems.append(f"summary: build set lost an asset: {ids}")
    for a in result.assets:
        if a.family == "unknown" or a.max_artifact_count == 0 or a.last_modified <= 0:
            problems.append(f"summary: asset {a.asset_id} read half-written: {a}")


def test_reads_never_observe_a_half_applied_write(project: Project) -> None:
    extra = add_unregistered_roots(project, 4)
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    stop = threading.Event()
    problems: list[str] = []
    reads = {"list": 0, "details": 0, "summary": 0}
    errors: list[BaseException] = []

    def reader(kind: str) -> None:
        try:
            while not stop.is_set():
                if kind == "list":
                    check_list(service.list_assets(), problems)
                elif kind == "details":
                    check_details(service.get_asset_details(2), problems)
                else:
                    check_summary(service.pack_summary(), problems)
                reads[kind] += 1
                time.sleep(0.001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    applied: list[str] = []

    def writer() -> None:
        try:
            extra_roots = list(extra)
            for i in range(16):
                src, dst = (TILES[0], TILES[1]) if i % 2 == 0 else (TILES[1], TILES[0])
                r = service.relocate_asset(2, dst, apply=True)
                assert r.status is Status.SUCCESS, r.summary
                assert r.affected_assets[0].root == dst and not project.root_dir(src).exists()
                r = (
                    service.exclude_asset_from_build(3)
                    if i % 2 == 0
                    else (service.include_asset_in_build(3))
                )
                assert r.status is Status.SUCCESS, r.summary
                if i % 4 == 3:
                    r = service.register_asset(extra_roots.pop())
                    assert r.status is Status.SUCCESS, r.summary
                applied.append(r.operation_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    # One scanning reader: list_assets always reads the disk under the shared lane, and
    # several back-to-back scanners can keep a writer out for seconds (see the report on
    # write-lane fairness); the snapshot readers do not take the lane unless reloading.
    threads = [
        threading.Thread(target=reader, args=(k,))
        for k in reads
        for _ in range(1 if k == "list" else 2)
    ]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stop.set()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert problems[:5] == []
    assert len(applied) == 16
    assert all(n > 0 for n in reads.values()), reads

    # the final state: asset 2 back home, 3 included, the four copies registered as 6..9
    registry = Registry.model_validate_json(project.registry_path.read_bytes())
    by_id = {e.asset_id: e for e in registry.assets}
    assert sorted(by_id) == list(range(1, 10)) and registry.next_asset_id == 10
    assert by_id[2].root == TILES[0] and by_id[3].included_in_build
    assert {by_id[i].root for i in range(6, 10)} == set(extra)
    assert {by_id[i].asset_uuid for i in range(6, 10)} == set(extra.values())

    # the service's own commits are never reported as changes behind its back
    moves = [
        (e.data["from"], e.data["to"])
        for e in sink.events
        if e.kind is EventKind.RUNTIME_STATE_CHANGED
    ]
    assert not [m for m in moves if m[1] in ("stale", "diverged", "failed")], moves
    # and the published transitions form one chain: each starts where the previous ended
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moves)), moves
    assert moves[-1][1] == "healthy"


def test_pack_and_writes_in_threads_are_serialized(project: Project) -> None:
    """build/write on one project are serialized: every pack sees a whole registry."""
    service = PackerService(project)
    results: list[Any] = []
    errors: list[BaseException] = []

    def packer() -> None:
        try:
            for _ in range(6):
                results.append(service.pack())
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    def mover() -> None:
        try:
            for i in range(10):
                r = service.relocate_asset(2, TILES[(i + 1) % 2], apply=True)
                assert r.status is Status.SUCCESS, r.summary
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=packer), threading.Thread(target=mover)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [r.status for r in results] == [Status.SUCCESS] * 6, [r.summary for r in results]
    assert all(r.packed_assets == 5 for r in results)
    check_build_coherent(project, expect_ids=[1, 2, 3, 4, 5])


# -- several processes --------------------------------------------------------------------------


def read_assets_pa_header(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    magic, version, flags, reserved, header_len, payload_offset = struct.unpack_from(
        "<4sIIIII", data
    )
    assert (magic, version, flags, reserved) == (b"PMPA", 1, 0, 0)
    assert payload_offset == (24 + header_len + 15) // 16 * 16
    header: dict[str, Any] = json.loads(data[24 : 24 + header_len].decode("utf-8"))
    assert set(header) == {"asset_table", "preload"}
    table = header["asset_table"]
    if table:
        last = max(table, key=lambda e: e["offset"])
        assert len(data) == payload_offset + last["offset"] + last["size"]
    return header


def check_build_coherent(project: Project, expect_ids: list[int] | None = None) -> None:
    build = project.build_dir
    header = read_assets_pa_header(build / "assets.pa")
    table = json.loads((build / "asset_table.json").read_text("utf-8"))
    preload = json.loads((build / "preload.json").read_text("utf-8"))
    metadata = json.loads((build / "asset_table_metadata.json").read_text("utf-8"))
    assert table == header["asset_table"]
    assert preload == header["preload"]
    ids = [e["asset_id"] for e in table]
    assert ids == sorted(ids)
    assert [a["asset_id"] for a in metadata["assets"]] == ids
    if expect_ids is not None:
        assert ids == expect_ids
    leftovers = [
        p.name
        for p in build.iterdir()
        if p.name
        not in (
            "assets.pa",
            "asset_table.json",
            "preload.json",
            "asset_table_metadata.json",
            ".prometeu-build.json",
            ".staging",
        )
    ]
    assert leftovers == []
    staging = build / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def cli(zygote: Zygote, game: Path, *args: str) -> dict[str, Any]:
    """`prometeu-packer --project GAME ARGS --json` as a real process forked by `zygote`."""
    run = zygote.run(["--project", str(game), *args, "--json"], game, timeout=60)
    assert not run.timed_out and run.signal is None, (args, run)
    assert "Traceback" not in run.stderr, run.stderr
    try:
        out: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        msg = f"{args}: exit {run.exit}\n{run.stdout}\n{run.stderr}"
        raise AssertionError(msg) from exc
    assert run.exit == 0 and out["status"] == "success", (args, out["summary"])
    return out


def test_two_processes_mutating_and_packing_stay_serialized(
    project: Project, tmp_path: Path
) -> None:
    game = project.root
    extra = add_unregistered_roots(project, 2)
    log: list[tuple[str, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def loop_a(z: Zygote) -> None:  # moves asset 2 back and forth, packing in between
        try:
            for i in range(2):
                out = cli(z, game, "relocate", "2", TILES[(i + 1) % 2], "--yes")
                log.append(("relocate", out))
                log.append(("pack", cli(z, game, "pack")))
        except BaseException as exc:
            errors.append(exc)

    def loop_b(z: Zygote) -> None:  # registers the copies, toggles asset 3, packs
        try:
            for i, root in enumerate(extra):
                log.append(("register", cli(z, game, "register", root)))
                verb = "exclude" if i % 2 == 0 else "include"
                log.append((verb, cli(z, game, verb, "3")))
                log.append(("pack", cli(z, game, "pack")))
        except BaseException as exc:
            errors.append(exc)

    with Zygote(tmp_path / "zygote_a") as za, Zygote(tmp_path / "zygote_b") as zb:
        threads = [
            threading.Thread(target=loop_a, args=(za,)),
            threading.Thread(target=loop_b, args=(zb,)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(log) == 4 + 6

    # ids handed out once each, in order, across both processes
    registered = sorted(
        out["affected_assets"][0]["asset_id"] for op, out in log if op == "register"
    )
    assert registered == [6, 7]

    registry = Registry.model_validate_json(project.registry_path.read_bytes())
    by_id = {e.asset_id: e for e in registry.assets}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6, 7] and registry.next_asset_id == 8
    assert by_id[2].root == TILES[0]  # moved an even number of times
    assert not project.root_dir(TILES[1]).exists()
    assert by_id[3].included_in_build is True  # excluded, then included again
    assert {by_id[i].root for i in (6, 7)} == set(extra)
    for i, e in by_id.items():
        decl = json.loads((project.root_dir(e.root) / "asset.json").read_text("utf-8"))
        assert decl["asset_uuid"] == e.asset_uuid, i
    assert {by_id[i].asset_uuid for i in STARTER_UUIDS} == set(STARTER_UUIDS.values())

    for op, out in log:
        if op == "pack" and out["published"]:  # one whole registry: 4 to 7, asset 2 once
            assert 4 <= out["packed_assets"] <= 7
            roots = [a["root"] for a in out["affected_assets"] if a["asset_id"] == 2]
            assert len(roots) == 1 and roots[0] in TILES
    check_build_coherent(project)

    # one last pack of the final state: exactly the build set, and a clean rebuild agrees
    final = PackerService(project).pack()
    assert final.status is Status.SUCCESS and final.packed_assets == 7
    check_build_coherent(project, expect_ids=[1, 2, 3, 4, 5, 6, 7])
    clean = game.parent / "clean"
    copy_project(game, clean)
    rebuilt = PackerService(Project(clean), cache=CacheConfig(None)).pack()  # no cache at all
    assert rebuilt.status is Status.SUCCESS and rebuilt.cache_hits == 0
    assert (clean / "build/assets.pa").read_bytes() == (game / "build/assets.pa").read_bytes()
