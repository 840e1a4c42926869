"""`watch` (packer_tasks/watch.py): pack once, then again after every relevant change.

Each test runs the real watcher (watchfiles, inotify) in a thread on a private copy of the
starter project and ends it with `max_packs` or a stop event. Edits are real file writes. The
watcher must report what changed (`asset_changed`), produce the same bytes a clean pack would,
ignore the packer's own state files, and never modify anything under assets/.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import copy_project

from packer_tasks.events import CollectingSink
from packer_tasks.models.event import AssetRef, Event, EventKind
from packer_tasks.models.results import PackResult, RuntimeState, Status
from packer_tasks.service import PackerService
from packer_tasks.service.watch import watch
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.settings import CacheConfig

WAIT = 60.0  # generous: inotify is quick, but CI machines can be slow
QUIET = 1.5  # how long "nothing happens" is observed (debounce is 50 ms)
HUD = "ui/hud_icons"


def user_files(project: Project) -> dict[str, str]:
    """Digest of everything under assets/ except the packer's own state files."""
    out: dict[str, str] = {}
    for path in sorted(project.assets_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith((".write.lock", ".digests.sqlite", ".build-manifest.json")):
            continue
        rel = path.relative_to(project.assets_dir).as_posix()
        out[rel] = hashlib.blake2b(path.read_bytes()).hexdigest()
    return out


@dataclass
class Watcher:
    service: PackerService
    sink: CollectingSink
    results: list[PackResult] = field(default_factory=list)
    packs: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def on_result(self, result: PackResult) -> None:
        with self._cond:
            self.results.append(result)
            self._cond.notify_all()

    def wait_packs(self, n: int, timeout: float = WAIT) -> list[PackResult]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.results) >= n or self.errors, timeout), (
                f"waited {timeout}s for pack #{n}; got {len(self.results)}"
            )
        assert self.errors == []
        return self.results[:n]

    def events(self, kind: EventKind) -> list[Event]:
        return [e for e in self.sink.events if e.kind is kind]


@contextmanager
def watching(
    project: Project,
    *,
    max_packs: int | None = None,
    sink: CollectingSink | None = None,
) -> Iterator[Watcher]:
    sink = sink or CollectingSink()
    service = PackerService(project, sink=sink)
    w = Watcher(service, sink)

    def run() -> None:
        try:
            w.packs.append(
                watch(
                    service,
                    on_result=w.on_result,
                    stop_event=w.stop,
                    debounce_ms=50,
                    max_packs=max_packs,
                )
            )
        except BaseException as exc:  # pragma: no cover - surfaced by the test
            w.errors.append(exc)
            with w._cond:
                w._cond.notify_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield w
    finally:
        w.stop.set()
        thread.join(WAIT)
        assert not thread.is_alive(), "watch did not stop"
    assert w.errors == []


def replace_png(path: Path, source: Path) -> None:
    """A real edit: another tile's pixels, same size and palette, so it still packs."""
    assert source.read_bytes() != path.read_bytes()
    path.write_bytes(source.read_bytes())


def clean_pack(project: Project, dest: Path) -> bytes:
    """The same workspace packed from scratch: a fresh copy, no cache, no previous build."""
    copy_project(project.root, dest)
    result = PackerService(Project(dest), cache=CacheConfig(None)).pack()
    assert result.status is Status.SUCCESS, result.summary
    return (dest / "build" / "assets.pa").read_bytes()


def test_png_edit_repacks_and_matches_a_clean_pack(project: Project, tmp_path: Path) -> None:
    before = user_files(project)
    pa = project.build_dir / "assets.pa"
    with watching(project, max_packs=2) as w:
        [first] = w.wait_packs(1)
        assert first.status is Status.SUCCESS and first.packed_assets == 5
        first_bytes = pa.read_bytes()
        assert user_files(project) == before

        hud = project.root_dir(HUD)
        replace_png(hud / "heart.png", hud / "star.png")
        edited = user_files(project)
        first, second = w.wait_packs(2)

    assert w.packs == [2]  # max_packs ended the loop by itself
    assert second.status is Status.SUCCESS and second.packed_assets == 5
    assert second.operation_id != first.operation_id
    second_bytes = pa.read_bytes()
    assert second_bytes != first_bytes
    assert second_bytes == clean_pack(project, tmp_path / "clean")

    changed = w.events(EventKind.ASSET_CHANGED)
    assert changed, "no asset_changed event"
    assert {ref for e in changed for ref in e.affected_assets} == {AssetRef(asset_id=1, root=HUD)}
    # reported before the pack it triggers, which rebuilt only the edited asset
    kinds = [(e.kind, e.operation_id) for e in w.sink.events]
    second_start = kinds.index((EventKind.BUILD_STARTED, second.operation_id))
    assert max(i for i, (k, _) in enumerate(kinds) if k is EventKind.ASSET_CHANGED) < second_start
    misses = [
        e.affected_assets[0].asset_id
        for e in w.events(EventKind.CACHE_MISS)
        if e.operation_id == second.operation_id
    ]
    assert misses == [1]
    assert user_files(project) == edited  # watch never writes under assets/


def test_packer_state_files_do_not_trigger_packs(project: Project) -> None:
    meta = project.meta_dir
    with watching(project) as w:
        w.wait_packs(1)
        before = user_files(project)
        assert (meta / ".digests.sqlite").exists()  # the pack's own digest memo

        # what packer processes do under assets/.prometeu: lock, memo, atomic temp files
        with open(meta / ".write.lock", "ab") as fh:
            fh.write(b"x")
        now = time.time()
        os.utime(meta / ".digests.sqlite", (now, now))
        tmp = meta / ".index.json.0123456789ab.tmp"
        tmp.write_bytes(b"{}")
        tmp.unlink()
        # another packer instance packing the same project (as a second terminal would)
        assert PackerService(project).pack().status is Status.SUCCESS
        assert PackerService(project).validate_pack().green
        time.sleep(QUIET)
        assert len(w.results) == 1, [r.summary for r in w.results]
        assert w.events(EventKind.ASSET_CHANGED) == []

        # the watcher is alive all along: a real edit still triggers a pack
        hud = project.root_dir(HUD)
        replace_png(hud / "coin.png", hud / "key.png")
        w.wait_packs(2)
    assert user_files(project) != before
    assert w.packs == [2]


def test_edit_during_the_initial_pack_is_not_lost(project: Project) -> None:
    """An edit saved while the first pack runs must still trigger a pack afterwards."""
    hud = project.root_dir(HUD)

    class EditOnFirstBuild(CollectingSink):
        edited = False

        def publish(self, event: Event) -> None:
            super().publish(event)
            if event.kind is EventKind.BUILD_STARTED and not self.edited:
                self.edited = True
                replace_png(hud / "heart.png", hud / "skull.png")

    with watching(project, max_packs=2, sink=EditOnFirstBuild()) as w:
        _, second = w.wait_packs(2)
    assert second.status is Status.SUCCESS
    changed = w.events(EventKind.ASSET_CHANGED)
    assert {ref.asset_id for e in changed for ref in e.affected_assets} == {1}


def wait_for(what: str, condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        time.sleep(0.05)


def test_registry_change_by_another_process_is_reported_and_repacked(project: Project) -> None:
    with watching(project) as w:
        w.wait_packs(1)
        assert w.service.pack_summary().total == 5  # the host holds a snapshot now
        other = PackerService(project)  # e.g. the CLI in another terminal

        # one atomic registry write behind the watching service's back
        assert other.exclude_asset_from_build(3).status is Status.SUCCESS
        wait_for("a pack without asset 3", lambda: w.results[-1].packed_assets == 4)
        registry_events = [e for e in w.events(EventKind.ASSET_CHANGED) if "registry" in e.summary]
        assert registry_events
        # the runtime reported the divergence, then reconciled (auto) before packing
        moves = [(e.data["from"], e.data["to"]) for e in w.events(EventKind.RUNTIME_STATE_CHANGED)]
        assert moves[:3] == [
            ("healthy", "diverged"),
            ("diverged", "reconciling"),
            ("reconciling", "healthy"),
        ]
        assert w.service.runtime.state is RuntimeState.HEALTHY

        # a relocation: packed at its new root, and later edits are attributed to asset 2 there
        assert other.relocate_asset(2, "world/ground", apply=True).status is Status.SUCCESS
        wait_for(
            "a pack of the moved root",
            lambda: "world/ground" in {r.root for r in w.results[-1].affected_assets},
        )
        assert {r.root for r in w.results[-1].affected_assets} == {
            HUD,
            "world/ground",
            "sfx/basic",
            "music/loop",
        }
        ground = project.root_dir("world/ground")
        replace_png(ground / "grass.png", ground / "dirt.png")
        moved = AssetRef(asset_id=2, root="world/ground")
        wait_for(
            "asset_changed for asset 2 at its new root",
            lambda: any(e.affected_assets == [moved] for e in w.events(EventKind.ASSET_CHANGED)),
        )

        def finished_after_the_edit() -> list[Event]:
            events = list(w.sink.events)
            first = next(
                i
                for i, e in enumerate(events)
                if e.kind is EventKind.ASSET_CHANGED and e.affected_assets == [moved]
            )
            return [e for e in events[first:] if e.kind is EventKind.BUILD_FINISHED]

        wait_for("the pack that follows", lambda: bool(finished_after_the_edit()))
        assert finished_after_the_edit()[0].data["status"] == "success"


def test_stop_event_ends_an_idle_watch(project: Project) -> None:
    with watching(project) as w:
        w.wait_packs(1)
        time.sleep(0.3)
    assert w.packs == [1]
    assert len(w.results) == 1
