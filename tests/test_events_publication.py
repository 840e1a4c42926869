"""Event publication (SPEC §10): every operation publishes through the sink the host hands in.

Each test runs real operations of a `PackerService` on a private copy of the starter project
and checks what reached the sink: the kinds an operation must publish, the envelope (a stable
20-character operation_id, strictly increasing sequences, UTC timestamps), per-operation order
under concurrent operations, and that a host's own bus is used as-is (no parallel bus).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import threading
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import make_png

from packer_tasks.events import ActivityEntry, CollectingSink, HostAdapter, ProgressModel
from packer_tasks.models.event import Event, EventKind
from packer_tasks.models.results import OperationResult, PackResult, Status
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

OPERATION_ID = re.compile(r"[A-Za-z0-9]{20}")
TERMINAL = {"preview_ready", "action_applied", "action_failed"}
STARTER_BUILD_SET = [1, 2, 3, 4, 5]


def service_with_sink(project: Project) -> tuple[PackerService, CollectingSink]:
    sink = CollectingSink()
    return PackerService(project, sink=sink), sink


def of_operation(sink: CollectingSink, operation_id: str) -> list[Event]:
    return [e for e in sink.events if e.operation_id == operation_id]


def operation_kinds(sink: CollectingSink, operation_id: str) -> list[str]:
    return [e.kind.value for e in of_operation(sink, operation_id)]


def check_envelopes(events: list[Event], project_id: str) -> dict[str, list[Event]]:
    """The envelope rules of SPEC §10, per operation, in the order the sink received them."""
    by_op: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_op[e.operation_id].append(e)
    for op, evs in by_op.items():
        assert OPERATION_ID.fullmatch(op), op
        seqs = [e.sequence for e in evs]
        assert seqs[0] >= 1
        assert all(a < b for a, b in itertools.pairwise(seqs)), (op, seqs)
        for e in evs:
            assert e.project_id == project_id
            assert e.timestamp.tzinfo is not None
            assert e.timestamp.utcoffset() == timedelta(0)
            assert e.summary
        stamps = [e.timestamp for e in evs]
        assert stamps == sorted(stamps), op
    return by_op


def add_unregistered_root(project: Project, root: str) -> None:
    """A new root whose asset.json is a copy of hud_icons' with a fresh uuid (and its PNGs)."""
    src = project.root_dir("ui/hud_icons")
    dst = project.root_dir(root)
    shutil.copytree(src, dst)
    decl = json.loads((dst / "asset.json").read_text("utf-8"))
    decl["asset_uuid"] = str(uuid.uuid4())
    decl["name"] = root.rsplit("/", 1)[-1]
    (dst / "asset.json").write_text(json.dumps(decl, indent=2) + "\n", "utf-8")


# -- reads ---------------------------------------------------------------------------------


def test_list_assets_publishes_asset_discovered_per_unregistered_root(project: Project) -> None:
    add_unregistered_root(project, "extra/found_me")
    service, sink = service_with_sink(project)

    result = service.list_assets()

    assert result.status is Status.SUCCESS
    unregistered = sorted(a.root for a in result.assets if not a.registered)
    assert unregistered == ["extra/found_me", "wip/unused_idea"]
    events = of_operation(sink, result.operation_id)
    assert [e.kind for e in events] == [EventKind.ASSET_DISCOVERED] * 2
    discovered = sorted(ref.root for e in events for ref in e.affected_assets)
    assert discovered == unregistered
    assert all(ref.asset_id is None for e in events for ref in e.affected_assets)
    check_envelopes(sink.events, project.project_id)


def test_list_assets_publishes_nothing_when_everything_is_registered(project: Project) -> None:
    service, sink = service_with_sink(project)
    assert service.register_asset("wip/unused_idea").status is Status.SUCCESS
    result = service.list_assets()
    assert all(a.registered for a in result.assets)
    assert of_operation(sink, result.operation_id) == []


def test_validate_publishes_diagnostics_updated(project: Project) -> None:
    service, sink = service_with_sink(project)
    green = service.validate_pack()
    assert green.green
    kinds = operation_kinds(sink, green.operation_id)
    assert kinds[-1] == "diagnostics_updated"
    assert kinds.count("diagnostics_updated") == 1
    [diag_event] = [
        e for e in of_operation(sink, green.operation_id) if e.kind is EventKind.DIAGNOSTICS_UPDATED
    ]
    assert diag_event.data["blocked_assets"] == 0

    # break one tile (wrong size): validate reports it, in the result and in the event
    make_png(project.root_dir("ui/hud_icons") / "heart.png", 12)
    red = service.validate_pack()
    assert not red.green and red.status is Status.BLOCKED
    [diag_event] = [
        e for e in of_operation(sink, red.operation_id) if e.kind is EventKind.DIAGNOSTICS_UPDATED
    ]
    assert diag_event.data["blocked_assets"] == 1 == len(red.assets)
    check_envelopes(sink.events, project.project_id)


def test_doctor_publishes_diagnostics_updated(project: Project) -> None:
    service, sink = service_with_sink(project)
    result = service.doctor(workspace=True)
    kinds = operation_kinds(sink, result.operation_id)
    assert "diagnostics_updated" in kinds
    assert kinds[-1] == "diagnostics_updated"
    check_envelopes(sink.events, project.project_id)


# -- mutations -----------------------------------------------------------------------------


def test_every_mutation_publishes_its_outcome(project: Project, tmp_path: Path) -> None:
    service, sink = service_with_sink(project)
    tiles = [make_png(tmp_path / "src" / f"t{i}.png", 16) for i in range(2)]
    outcomes: list[tuple[str, Status, str]] = []

    def run(
        label: str, result: OperationResult, expected_status: Status, expected_event: str
    ) -> None:
        assert result.status is expected_status, (label, result.summary)
        events = of_operation(sink, result.operation_id)
        terminal = [e for e in events if e.kind.value in TERMINAL]
        assert [e.kind.value for e in terminal] == [expected_event], label
        assert terminal[0].summary == result.summary
        assert terminal[0].affected_assets == result.affected_assets
        outcomes.append((label, result.status, expected_event))

    created = service.create_asset("glyph_bank", "ui/new_icons", tiles, {"tile_size": 16})
    run("create", created, Status.SUCCESS, "action_applied")
    new_id = created.affected_assets[0].asset_id
    assert new_id == 6

    run("register", service.register_asset("wip/unused_idea"), Status.SUCCESS, "action_applied")
    run("exclude", service.exclude_asset_from_build(new_id), Status.SUCCESS, "action_applied")
    run("include", service.include_asset_in_build(new_id), Status.SUCCESS, "action_applied")

    preview = service.relocate_asset(new_id, "ui/moved_icons")
    run("relocate preview", preview, Status.PREVIEW, "preview_ready")
    assert project.root_dir("ui/new_icons").is_dir()  # a preview changes nothing
    applied = service.relocate_asset(new_id, "ui/moved_icons", apply=True)
    run("relocate apply", applied, Status.SUCCESS, "action_applied")
    assert project.root_dir("ui/moved_icons").is_dir()
    assert not project.root_dir("ui/new_icons").exists()

    # refused mutations: each publishes action_failed and changes nothing
    registry_before = project.registry_path.read_bytes()
    run(
        "relocate unknown",
        service.relocate_asset(99, "x/y", apply=True),
        Status.BLOCKED,
        "action_failed",
    )
    run(
        "register twice", service.register_asset("wip/unused_idea"), Status.BLOCKED, "action_failed"
    )
    run(
        "relocate onto another root",
        service.relocate_asset(1, "world/tiles_8", apply=True),
        Status.BLOCKED,
        "action_failed",
    )
    run(
        "exclude unknown",
        service.exclude_asset_from_build("no/such/root"),
        Status.BLOCKED,
        "action_failed",
    )
    run(
        "create over existing",
        service.create_asset("glyph_bank", "ui/hud_icons", tiles, {"tile_size": 16}),
        Status.BLOCKED,
        "action_failed",
    )
    assert project.registry_path.read_bytes() == registry_before

    assert len(outcomes) == 11
    check_envelopes(sink.events, project.project_id)


def test_remove_preview_and_apply_publish(project: Project) -> None:
    service, sink = service_with_sink(project)
    preview = service.remove_asset(5, delete_files=True, apply=False)
    assert preview.status is Status.PREVIEW
    assert "preview_ready" in operation_kinds(sink, preview.operation_id)
    assert project.root_dir("music/loop").is_dir()
    applied = service.remove_asset(5)
    assert applied.status is Status.SUCCESS
    assert "action_applied" in operation_kinds(sink, applied.operation_id)
    check_envelopes(sink.events, project.project_id)


# -- builds --------------------------------------------------------------------------------


def check_pack_events(
    sink: CollectingSink, result: PackResult, build_set: list[int]
) -> dict[str, int]:
    events = of_operation(sink, result.operation_id)
    kinds = [e.kind.value for e in events]
    assert kinds[0] == "build_started"
    assert kinds[-1] == "build_finished"
    assert kinds.count("build_started") == kinds.count("build_finished") == 1

    progress = [e for e in events if e.kind is EventKind.PROGRESS_UPDATED]
    assert [(e.progress.current, e.progress.total) for e in progress if e.progress] == [
        (i, len(build_set)) for i in range(1, len(build_set) + 1)
    ]
    assert [e.affected_assets[0].asset_id for e in progress] == build_set

    cache = [e for e in events if e.kind in (EventKind.CACHE_HIT, EventKind.CACHE_MISS)]
    cached_ids: list[int] = []
    for e in cache:
        asset_id = e.affected_assets[0].asset_id
        assert asset_id is not None, e
        cached_ids.append(asset_id)
    # exactly one lookup outcome per asset not kept from the previous build
    assert len(set(cached_ids)) == len(cached_ids) and set(cached_ids) <= set(build_set)
    hits = sum(e.kind is EventKind.CACHE_HIT for e in cache)
    misses = sum(e.kind is EventKind.CACHE_MISS for e in cache)
    assert hits + misses + result.up_to_date == result.packed_assets == len(build_set)
    assert (hits, misses) == (result.cache_hits, result.cache_misses)

    finished = events[-1].data
    assert finished["status"] == "success"
    assert finished["packed_assets"] == result.packed_assets
    assert (finished["cache_hits"], finished["cache_misses"]) == (hits, misses)
    assert finished["up_to_date"] == result.up_to_date
    return {"hits": hits, "misses": misses, "up": result.up_to_date}


def test_pack_publishes_build_lifecycle_progress_and_cache_outcomes(project: Project) -> None:
    service, sink = service_with_sink(project)

    first = service.pack()
    assert first.status is Status.SUCCESS
    assert check_pack_events(sink, first, STARTER_BUILD_SET) == {"hits": 0, "misses": 5, "up": 0}

    # build/ already holds this build: a lifecycle, no lookups, nothing written
    same = service.pack()
    assert same.status is Status.SUCCESS and not same.published
    kinds = operation_kinds(sink, same.operation_id)
    assert kinds == ["build_started", "build_finished"], kinds

    # build/ lost (a fresh checkout with the cache): every asset is a cache hit
    shutil.rmtree(project.build_dir)
    second = service.pack()
    assert second.status is Status.SUCCESS
    assert second.operation_id != first.operation_id
    assert check_pack_events(sink, second, STARTER_BUILD_SET) == {"hits": 5, "misses": 0, "up": 0}

    # one excluded asset: it is neither materialized nor looked up, and the others keep
    # their bytes from the build in build/ (no lookup either)
    assert service.exclude_asset_from_build(3).status is Status.SUCCESS
    third = service.pack()
    assert check_pack_events(sink, third, [1, 2, 4, 5]) == {"hits": 0, "misses": 0, "up": 4}
    check_envelopes(sink.events, project.project_id)


def test_blocked_pack_still_finishes_its_lifecycle(project: Project) -> None:
    service, sink = service_with_sink(project)
    make_png(project.root_dir("ui/hud_icons") / "heart.png", 12)  # wrong tile size
    result = service.pack()
    assert result.status is Status.BLOCKED
    events = of_operation(sink, result.operation_id)
    assert events[0].kind is EventKind.BUILD_STARTED
    assert events[-1].kind is EventKind.BUILD_FINISHED
    assert events[-1].data["status"] == "blocked"
    assert not (project.build_dir / "assets.pa").exists()


# -- envelope and ordering under concurrency -------------------------------------------------


def test_per_operation_order_holds_with_concurrent_operations(project: Project) -> None:
    service, sink = service_with_sink(project)
    assert service.pack().status is Status.SUCCESS  # warm the cache
    results: list[Any] = []  # of every kind: inspected by `operation` below
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(3):
                r: list[Any]
                if n == 0:
                    r = [service.pack()]
                elif n == 1:
                    r = [service.validate_pack()]
                elif n == 2:
                    r = [service.list_assets()]
                elif n == 3:
                    r = [service.exclude_asset_from_build(2), service.include_asset_in_build(2)]
                elif n == 4:
                    r = [service.relocate_asset(4, f"sfx/moved_{i}")]  # previews only
                else:
                    r = [service.relocate_asset(99, "x/y", apply=True)]  # refused
                with lock:
                    results.extend(r)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(results) == 21

    by_op = check_envelopes(sink.events, project.project_id)
    for op, evs in by_op.items():
        # contiguous in its own order: 1, 2, 3, ... with no gap and no reordering
        assert [e.sequence for e in evs] == list(range(1, len(evs) + 1)), op

    for r in results:
        kinds = [e.kind.value for e in by_op.get(r.operation_id, [])]
        if r.operation == "pack":
            assert r.status is Status.SUCCESS
            assert kinds[0] == "build_started" and kinds[-1] == "build_finished"
            # asset 2 may be in or out of the build set, depending on the interleaving
            assert r.packed_assets in (4, 5)
            # a pack whose build/ already held the build publishes nothing else
            done = r.packed_assets if r.published else 0
            assert kinds.count("progress_updated") == done
            # assets keyed as in the previous build keep its bytes: no cache lookup
            lookups = kinds.count("cache_hit") + kinds.count("cache_miss")
            assert lookups + (r.up_to_date if r.published else 0) == done
        elif r.operation == "validate_pack":
            assert kinds[-1] == "diagnostics_updated"
        elif r.operation == "list_assets":
            assert kinds == ["asset_discovered"]
        elif r.operation == "relocate_asset" and r.status is Status.PREVIEW:
            assert kinds == ["preview_ready"]
        elif r.operation == "relocate_asset":
            assert kinds == ["action_failed"]
        else:
            assert kinds == ["action_applied"], r.summary
    # nothing was applied by the previews: asset 4 never moved
    assert project.root_dir("sfx/basic").is_dir()


# -- a host's own bus ---------------------------------------------------------------------


class ListBus:
    """A host's typed bus, reduced to a list."""

    def __init__(self) -> None:
        self.messages: list[object] = []

    def post(self, message: object) -> None:
        self.messages.append(message)


def test_host_bus_is_used_as_given(project: Project) -> None:
    bus = ListBus()
    adapter = HostAdapter(bus, min_interval=0.0)
    service = PackerService(project, sink=adapter)

    assert service.sink is adapter  # no wrapper, no parallel bus
    assert service.emitter().sink is adapter

    listed = service.list_assets()
    excluded = service.exclude_asset_from_build(3)
    packed = service.pack()
    adapter.flush()

    assert all(isinstance(m, ActivityEntry | ProgressModel) for m in bus.messages)
    activity = [m for m in bus.messages if isinstance(m, ActivityEntry)]

    def kinds_for(operation_id: str) -> list[str]:
        return [m.kind.value for m in activity if m.operation_id == operation_id]

    assert kinds_for(listed.operation_id) == ["asset_discovered"]
    assert kinds_for(excluded.operation_id) == ["action_applied"]
    pack_kinds = kinds_for(packed.operation_id)
    assert pack_kinds[0] == "build_started" and pack_kinds[-1] == "build_finished"
    assert pack_kinds.count("cache_hit") + pack_kinds.count("cache_miss") == 4
    # the runtime's own freshness transitions reach the host's bus too
    assert "runtime_state_changed" in [m.kind.value for m in activity]
    progress = [m for m in bus.messages if isinstance(m, ProgressModel)]
    assert progress and progress[-1].operation_id == packed.operation_id
    assert progress[-1].done and (progress[-1].current, progress[-1].total) == (4, 4)
    # per operation, the host sees sequences in increasing order
    seqs: dict[str, list[int]] = defaultdict(list)
    for m in bus.messages:
        assert isinstance(m, ActivityEntry | ProgressModel)
        seqs[m.operation_id].append(m.sequence)
    assert all(s == sorted(set(s)) for s in seqs.values())
