"""HostAdapter: a host's own bus receives view models; nothing invented, nothing reordered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from packer_tasks.events import (
    ActivityEntry,
    CollectingSink,
    FanoutSink,
    HostAdapter,
    HostBus,
    OperationEmitter,
    ProgressModel,
)
from packer_tasks.models.event import AssetRef, Event, EventKind

STARTER = Path(__file__).resolve().parents[1] / "sample_projects" / "starter"
IGNORE = shutil.ignore_patterns(
    "build",
    ".prometeu-cache",
    ".write.lock*",
    ".digests.sqlite*",
    ".build-manifest.json*",
    ".doit.db*",
    "__pycache__",
)


class ListBus:
    """The smallest possible host bus: what an editor's typed bus looks like to the packer."""

    def __init__(self) -> None:
        self.messages: list[object] = []

    def post(self, message: object) -> None:
        self.messages.append(message)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def keys(messages: list[object]) -> list[tuple[str, int]]:
    out = []
    for m in messages:
        assert isinstance(m, ActivityEntry | ProgressModel)
        out.append((m.operation_id, m.sequence))
    return out


def is_subsequence(small: list[tuple[str, int]], big: list[tuple[str, int]]) -> bool:
    it = iter(big)
    return all(k in it for k in small)


def test_list_bus_is_a_host_bus() -> None:
    assert isinstance(ListBus(), HostBus)


def test_translation_of_each_kind() -> None:
    bus = ListBus()
    adapter = HostAdapter(bus, clock=Clock())
    em = OperationEmitter(adapter, "demo")
    ref = AssetRef(asset_id=3, root="chars/hero")
    em.emit(EventKind.BUILD_STARTED, "pack started")
    em.emit(
        EventKind.CACHE_MISS,
        "cache miss for chars/hero (absent)",
        assets=[ref],
        data={"reason": "absent", "evicted_corrupt": False},
    )
    em.emit(EventKind.PROGRESS_UPDATED, "materialized chars/hero", progress=(1, 4), assets=[ref])
    em.emit(EventKind.ACTION_FAILED, "could not move", assets=[ref])
    em.emit(
        EventKind.BUILD_FINISHED,
        "packed 1",
        data={
            "status": "success",
            "packed_assets": 1,
            "cache_hits": 0,
            "cache_misses": 1,
            "elapsed_ms": 12,
        },
    )

    started, miss, progress, failed, finished = bus.messages
    assert isinstance(started, ActivityEntry) and started.level == "info"
    assert isinstance(miss, ActivityEntry)
    assert (miss.level, miss.detail, miss.asset_roots) == ("info", "absent", ["chars/hero"])
    assert isinstance(progress, ProgressModel)
    assert (progress.current, progress.total, progress.fraction, progress.done) == (
        1,
        4,
        0.25,
        False,
    )
    assert progress.label == "materialized chars/hero"
    assert isinstance(failed, ActivityEntry) and failed.level == "error"
    assert isinstance(finished, ActivityEntry) and finished.level == "success"
    assert finished.detail == "1 packed, 0 hit(s), 1 miss(es), 12 ms"
    assert finished.timestamp.utcoffset() is not None


def test_blocked_build_and_corrupt_eviction_levels() -> None:
    bus = ListBus()
    em = OperationEmitter(HostAdapter(bus), "demo")
    em.emit(EventKind.CACHE_MISS, "miss", data={"reason": "digest", "evicted_corrupt": True})
    em.emit(EventKind.BUILD_FINISHED, "blocked", data={"status": "blocked"})
    assert [m.level for m in bus.messages if isinstance(m, ActivityEntry)] == ["warning", "error"]


def test_progress_is_coalesced_and_nothing_is_invented_or_reordered() -> None:
    bus, clock = ListBus(), Clock()
    adapter = HostAdapter(bus, min_interval=0.05, clock=clock)
    published = CollectingSink()
    em = OperationEmitter(FanoutSink(published, adapter), "demo")
    em.emit(EventKind.BUILD_STARTED, "start")
    for i in range(1, 5001):
        clock.now += 0.0002
        em.emit(EventKind.PROGRESS_UPDATED, "p", progress=(i, 5000))
        if i % 1000 == 0:
            em.emit(EventKind.CACHE_HIT, f"hit {i}")
    em.emit(EventKind.BUILD_FINISHED, "done", data={"status": "success"})
    adapter.close()

    posted = keys(bus.messages)
    pub = [(e.operation_id, e.sequence) for e in published.events]
    assert is_subsequence(posted, pub)
    assert len(posted) == len(set(posted))
    non_progress = [
        (e.operation_id, e.sequence)
        for e in published.events
        if e.kind is not EventKind.PROGRESS_UPDATED
    ]
    assert [
        k for k, m in zip(posted, bus.messages, strict=True) if isinstance(m, ActivityEntry)
    ] == non_progress
    progress = [m for m in bus.messages if isinstance(m, ProgressModel)]
    assert len(progress) <= 40
    assert progress[-1].done and progress[-1].fraction == 1.0
    assert isinstance(bus.messages[-1], ActivityEntry)
    assert bus.messages[-1].kind is EventKind.BUILD_FINISHED


def test_real_pack_posts_onto_the_host_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service uses the host's sink as given and every event lands on the host's bus."""
    from packer_tasks.service import PackerService
    from packer_tasks.workspace.project import Project

    monkeypatch.delenv("PROMETEU_PACKER_CACHE", raising=False)
    root = tmp_path / "starter"
    shutil.copytree(STARTER, root, ignore=IGNORE)
    bus = ListBus()
    adapter = HostAdapter(bus)
    published = CollectingSink()
    sink = FanoutSink(published, adapter)
    service = PackerService(Project(root), sink=sink)
    assert service.sink is sink  # no parallel bus: the host's sink is used as is

    result = service.pack()
    adapter.close()
    assert result.status.value == "success"
    events: list[Event] = published.events
    assert {e.operation_id for e in events} == {result.operation_id}
    posted = keys(bus.messages)
    assert is_subsequence(posted, [(e.operation_id, e.sequence) for e in events])
    activity = [m for m in bus.messages if isinstance(m, ActivityEntry)]
    assert [m.kind for m in activity] == [
        e.kind for e in events if e.kind is not EventKind.PROGRESS_UPDATED
    ]
    assert activity[0].kind is EventKind.BUILD_STARTED
    assert activity[-1].kind is EventKind.BUILD_FINISHED and activity[-1].level == "success"
    assert sum(m.kind in (EventKind.CACHE_HIT, EventKind.CACHE_MISS) for m in activity) == 5
    final = [m for m in bus.messages if isinstance(m, ProgressModel)][-1]
    assert (final.current, final.total, final.done) == (5, 5, True)
