"""The runtime's own writes and concurrent readers (SPEC §9), made deterministic.

A commit by the service itself is not a change "behind the snapshot": readers running while it
is in flight get the last committed view without blocking, and nothing is reported as stale or
diverged. A snapshot loaded before a commit is never installed after it. Several readers that
notice the same external change share a single reconciliation. The published transitions form
one chain (each starts where the previous one ended).
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest
from conftest import runtime_state

from packer_tasks.events import CollectingSink
from packer_tasks.models.event import EventKind
from packer_tasks.models.results import RuntimeState, Status
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.registry_store import load_registry, save_registry


def moves(sink: CollectingSink, start: int = 0) -> list[tuple[str, str]]:
    return [
        (str(e.data["from"]), str(e.data["to"]))
        for e in sink.events[start:]
        if e.kind is EventKind.RUNTIME_STATE_CHANGED
    ]


def assert_chain(transitions: list[tuple[str, str]]) -> None:
    assert all(a[1] == b[0] for a, b in itertools.pairwise(transitions)), transitions


def run_in_thread(fn: Any, timeout: float = 10.0) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # pragma: no cover - re-raised below
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the read blocked behind a write in flight"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("auto", [True, False])
def test_read_during_own_commit_sees_the_last_committed_view(project: Project, auto: bool) -> None:
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    service.runtime.auto_reconcile = auto
    assert service.pack_summary().total == 5

    with service.lane():
        service.runtime.committing()
        # the write is half done: the registry already excludes asset 3 on disk
        registry, _ = load_registry(project.registry_path)
        assert registry is not None
        entry = registry.by_id(3)
        assert entry is not None
        save_registry(
            project.registry_path,
            registry.with_entry(entry.model_copy(update={"included_in_build": False})),
        )
        during = run_in_thread(service.pack_summary)
        assert during.total == 5  # the whole old state, not the half-written one
        assert runtime_state(service) is RuntimeState.COMMITTING
        service.runtime.committed()

    after = service.pack_summary()
    assert after.total == 4
    assert moves(sink) == [("healthy", "committing"), ("committing", "healthy")]


def test_snapshot_loaded_before_a_commit_is_not_installed_after_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    service.runtime.auto_reconcile = False
    runtime = service.runtime
    real_load = runtime.load
    loaded = threading.Event()
    release = threading.Event()

    def slow_load() -> Any:
        snap = real_load()
        if not loaded.is_set():
            loaded.set()
            assert release.wait(10)
        return snap

    monkeypatch.setattr(runtime, "load", slow_load)
    reader = threading.Thread(target=service.pack_summary)
    reader.start()  # first read: loads the pre-commit state, then pauses
    assert loaded.wait(10)
    result = service.exclude_asset_from_build(3)  # a whole commit happens meanwhile
    assert result.status is Status.SUCCESS
    release.set()
    reader.join(10)
    assert not reader.is_alive()

    # the next read serves the committed state, and nothing claims it changed behind us
    mark = len(sink.events)
    assert service.pack_summary().total == 4
    assert moves(sink, mark) == []
    assert runtime.state is RuntimeState.HEALTHY
    assert_chain(moves(sink))


def test_readers_share_one_reconciliation(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    runtime = service.runtime
    assert service.pack_summary().total == 5
    path = project.root_dir("ui/hud_icons") / "asset.json"
    data = json.loads(path.read_text("utf-8"))
    data["name"] = "edited"
    path.write_text(json.dumps(data), "utf-8")

    real_load = runtime.load
    in_load = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow_load() -> Any:
        calls.append(1)
        snap = real_load()
        if len(calls) == 1:
            in_load.set()
            assert release.wait(10)
        return snap

    monkeypatch.setattr(runtime, "load", slow_load)
    names: list[set[str | None]] = []

    def read() -> None:
        names.append({a.name for a in service.pack_summary().assets})

    first = threading.Thread(target=read)
    first.start()
    assert in_load.wait(10)  # the first reader noticed the change and is reloading
    second = threading.Thread(target=read)
    second.start()
    second.join(0.3)  # give it time to notice the same change
    release.set()
    first.join(10)
    second.join(10)
    assert not first.is_alive() and not second.is_alive()

    assert all("edited" in n for n in names) and len(names) == 2
    assert moves(sink) == [
        ("healthy", "diverged"),
        ("diverged", "reconciling"),
        ("reconciling", "healthy"),
    ]
    assert len(calls) == 1


def test_failed_commit_is_reported_and_recovered(project: Project) -> None:
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    service.pack_summary()
    with service.lane():
        service.runtime.committing()
        service.runtime.committed(ok=False)
    assert runtime_state(service) is RuntimeState.FAILED
    assert service.pack_summary().total == 5
    assert runtime_state(service) is RuntimeState.HEALTHY
    assert moves(sink) == [
        ("healthy", "committing"),
        ("committing", "failed"),
        ("failed", "reconciling"),
        ("reconciling", "healthy"),
    ]


def test_transitions_chain_under_mixed_load(project: Project) -> None:
    """Writes, reads and external edits from several threads: one coherent state history."""
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    service.pack_summary()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reads() -> None:
        try:
            while not stop.is_set():
                service.pack_summary()
                service.get_asset_details(1)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    def writes() -> None:
        try:
            for i in range(8):
                r = (
                    service.exclude_asset_from_build(3)
                    if i % 2 == 0
                    else service.include_asset_in_build(3)
                )
                assert r.status is Status.SUCCESS
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    def edits() -> None:
        try:
            heart = project.root_dir("ui/hud_icons") / "heart.png"
            star = project.root_dir("ui/hud_icons") / "star.png"
            original = heart.read_bytes()
            for i in range(8):
                heart.write_bytes(star.read_bytes() if i % 2 == 0 else original)
                stop.wait(0.02)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (reads, reads, writes, edits)]
    for t in threads:
        t.start()
    for t in threads[2:]:
        t.join(30)
    stop.set()
    for t in threads:
        t.join(30)
    assert errors == []
    service.pack_summary()
    transitions = moves(sink)
    assert transitions and transitions[-1][1] == "healthy"
    assert_chain(transitions)
    assert runtime_state(service) is RuntimeState.HEALTHY
