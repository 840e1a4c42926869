"""Runtime freshness (SPEC §9): changes behind the service's snapshot are detected and reported.

An input edited behind a running service moves its runtime to `stale`; a registry or asset.json
edit moves it to `diverged`. Each transition is published as a `runtime_state_changed` event.
Without auto-reconcile the service keeps serving its snapshot until it is told to reconcile;
with it (the default) a read reloads explicitly (`reconciling` → `healthy`). Nothing is ever
"repaired": user-authored files are byte-for-byte what the user left.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import runtime_state

from packer_tasks.events import CollectingSink
from packer_tasks.models.event import EventKind
from packer_tasks.models.results import RuntimeState, Status
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

PACKER_STATE = (".write.lock", ".digests.sqlite", ".build-manifest.json")
HUD = "ui/hud_icons"


def make_service(project: Project, *, auto: bool) -> tuple[PackerService, CollectingSink]:
    sink = CollectingSink()
    service = PackerService(project, sink=sink)
    service.runtime.auto_reconcile = auto
    return service, sink


def tree_digest(project: Project) -> dict[str, str]:
    """blake2 of every user-visible file under assets/ (packer state files excluded)."""
    out: dict[str, str] = {}
    for path in sorted(project.assets_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(PACKER_STATE):
            rel = path.relative_to(project.assets_dir).as_posix()
            out[rel] = hashlib.blake2b(path.read_bytes()).hexdigest()
    return out


def transitions(sink: CollectingSink, start: int = 0) -> list[tuple[str, str]]:
    return [
        (str(e.data["from"]), str(e.data["to"]))
        for e in sink.events[start:]
        if e.kind is EventKind.RUNTIME_STATE_CHANGED
    ]


def touch_later(path: Path) -> None:
    """Make sure a rewrite is visible to stat even on coarse-mtime filesystems."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def edit_png(project: Project) -> Path:
    """A real edit of an input: heart.png takes star.png's pixels (still a valid tile)."""
    root = project.root_dir(HUD)
    target = root / "heart.png"
    assert (root / "star.png").read_bytes() != target.read_bytes()
    target.write_bytes((root / "star.png").read_bytes())
    touch_later(target)
    return target


def input_size(service: PackerService, asset_id: int, name: str) -> int | None:
    details = service.get_asset_details(asset_id)
    assert details.asset is not None
    [info] = [i for i in details.asset.inputs if i.file == name]
    return info.size


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    touch_later(path)


# -- detection without auto-reconcile ---------------------------------------------------------


def test_input_edit_moves_runtime_to_stale_and_reports_it(project: Project) -> None:
    service, sink = make_service(project, auto=False)
    old_size = input_size(service, 1, "heart.png")
    assert runtime_state(service) is RuntimeState.HEALTHY
    assert transitions(sink) == []

    heart = edit_png(project)
    new_size = heart.stat().st_size
    assert new_size != old_size
    edited = tree_digest(project)
    mark = len(sink.events)

    summary = service.pack_summary()
    assert summary.status is Status.SUCCESS
    assert runtime_state(service) is RuntimeState.STALE
    assert transitions(sink, mark) == [("healthy", "stale")]
    [event] = [e for e in sink.events[mark:] if e.kind is EventKind.RUNTIME_STATE_CHANGED]
    assert "ui/hud_icons/heart.png" in event.summary
    assert service.runtime.last_changes == ["ui/hud_icons/heart.png"]

    # still stale, reported once, and the old snapshot is still what reads are served from
    mark = len(sink.events)
    assert input_size(service, 1, "heart.png") == old_size
    service.list_assets()
    service.validate_pack()
    assert runtime_state(service) is RuntimeState.STALE
    assert transitions(sink, mark) == []
    assert tree_digest(project) == edited  # nothing was "repaired"

    # an explicit refresh: reconciling, then healthy, in that order; the new data is served
    mark = len(sink.events)
    service.runtime.reconcile()
    assert transitions(sink, mark) == [("stale", "reconciling"), ("reconciling", "healthy")]
    assert runtime_state(service) is RuntimeState.HEALTHY
    assert input_size(service, 1, "heart.png") == new_size
    assert transitions(sink, mark) == [("stale", "reconciling"), ("reconciling", "healthy")]
    assert tree_digest(project) == edited


def test_read_results_carry_the_stale_state(project: Project) -> None:
    service, _ = make_service(project, auto=False)
    service.pack_summary()
    edit_png(project)
    assert service.pack_summary().runtime_state is RuntimeState.STALE
    assert service.get_asset_details(1).runtime_state is RuntimeState.STALE
    assert service.validate_pack().runtime_state is RuntimeState.STALE
    assert service.list_assets().runtime_state is RuntimeState.STALE


def test_mutation_result_carries_the_runtime_state(project: Project) -> None:
    service, _ = make_service(project, auto=False)
    assert service.exclude_asset_from_build(3).runtime_state is RuntimeState.HEALTHY


@pytest.mark.parametrize("what", ["asset.json", "index.json"])
def test_declaration_or_registry_edit_moves_runtime_to_diverged(
    project: Project, what: str
) -> None:
    service, sink = make_service(project, auto=False)
    assert service.pack_summary().total == 5
    if what == "asset.json":
        path = project.root_dir(HUD) / "asset.json"
        edit_json(path, lambda d: d.update(name="renamed_by_hand"))
        expected_change = f"{HUD}/asset.json"
    else:
        path = project.registry_path

        def exclude_three(d: dict[str, Any]) -> None:
            d["assets"][2]["included_in_build"] = False

        edit_json(path, exclude_three)
        expected_change = "index.json"
    edited = tree_digest(project)
    user_bytes = path.read_bytes()
    mark = len(sink.events)

    summary = service.pack_summary()
    assert runtime_state(service) is RuntimeState.DIVERGED
    assert transitions(sink, mark) == [("healthy", "diverged")]
    assert service.runtime.last_changes == [expected_change]
    # served from the old snapshot until told otherwise
    assert summary.total == 5
    assert "renamed_by_hand" not in {a.name for a in summary.assets}

    mark = len(sink.events)
    service.runtime.reconcile()
    assert transitions(sink, mark) == [("diverged", "reconciling"), ("reconciling", "healthy")]
    after = service.pack_summary()
    if what == "asset.json":
        assert "renamed_by_hand" in {a.name for a in after.assets}
    else:
        assert after.total == 4
    # the user's edit is kept exactly as written (not reformatted, not reverted)
    assert path.read_bytes() == user_bytes
    assert tree_digest(project) == edited


def test_input_and_declaration_edit_together_is_diverged(project: Project) -> None:
    service, _ = make_service(project, auto=False)
    service.pack_summary()
    edit_png(project)
    edit_json(project.root_dir(HUD) / "asset.json", lambda d: d.update(name="both"))
    service.pack_summary()
    assert runtime_state(service) is RuntimeState.DIVERGED
    assert sorted(service.runtime.last_changes) == [f"{HUD}/asset.json", f"{HUD}/heart.png"]


def test_stale_then_structural_change_escalates_to_diverged(project: Project) -> None:
    service, sink = make_service(project, auto=False)
    service.pack_summary()
    edit_png(project)
    service.pack_summary()
    edit_json(project.root_dir(HUD) / "asset.json", lambda d: d.update(name="later"))
    service.pack_summary()
    assert transitions(sink) == [("healthy", "stale"), ("stale", "diverged")]


def test_deleted_asset_root_is_diverged_and_not_recreated(project: Project) -> None:
    service, _ = make_service(project, auto=False)
    service.pack_summary()
    shutil.rmtree(project.root_dir("music/loop"))
    edited = tree_digest(project)
    service.pack_summary()
    assert runtime_state(service) is RuntimeState.DIVERGED
    service.runtime.reconcile()
    details = service.get_asset_details(5)
    assert "asset.root_missing" in {d.code for d in details.diagnostics}
    assert not project.root_dir("music/loop").exists()
    assert tree_digest(project) == edited


def test_broken_user_files_are_reported_never_rewritten(project: Project) -> None:
    service, _ = make_service(project, auto=True)
    service.pack_summary()
    decl = project.root_dir(HUD) / "asset.json"
    decl.write_bytes(b'{"schema_version": 1, "name": ')  # truncated by an editor crash
    touch_later(decl)
    wrong_uuid = project.root_dir("world/tiles_8") / "asset.json"
    edit_json(wrong_uuid, lambda d: d.update(asset_uuid="0d6c8f0e-7a38-4c7b-9f64-1f1f1f1f1f1f"))
    compact = json.dumps(json.loads(project.registry_path.read_text("utf-8")))
    project.registry_path.write_text(compact, "utf-8")  # valid, but not canonical formatting
    touch_later(project.registry_path)
    edited = tree_digest(project)

    validation = service.validate_pack()
    codes = {d.code for d in validation.diagnostics}
    assert "asset.uuid_mismatch" in codes
    assert any(c.startswith("declaration.") for c in codes)
    assert not validation.green
    assert service.pack().status is Status.BLOCKED
    service.list_assets()
    service.doctor()
    assert runtime_state(service) is RuntimeState.HEALTHY
    assert tree_digest(project) == edited
    assert project.registry_path.read_text("utf-8") == compact


# -- auto-reconcile (the default) -------------------------------------------------------------


def test_auto_reconcile_reports_then_reloads_on_the_next_read(project: Project) -> None:
    service, sink = make_service(project, auto=True)
    assert service.runtime.auto_reconcile  # the default
    old_size = input_size(service, 1, "heart.png")

    heart = edit_png(project)
    mark = len(sink.events)
    assert input_size(service, 1, "heart.png") == heart.stat().st_size != old_size
    assert transitions(sink, mark) == [
        ("healthy", "stale"),
        ("stale", "reconciling"),
        ("reconciling", "healthy"),
    ]
    assert runtime_state(service) is RuntimeState.HEALTHY

    edit_json(project.root_dir(HUD) / "asset.json", lambda d: d.update(name="hud_renamed"))
    mark = len(sink.events)
    details = service.get_asset_details(1)
    assert details.asset is not None and details.asset.name == "hud_renamed"
    assert transitions(sink, mark) == [
        ("healthy", "diverged"),
        ("diverged", "reconciling"),
        ("reconciling", "healthy"),
    ]

    # a fresh read with nothing changed publishes nothing
    mark = len(sink.events)
    service.pack_summary()
    service.get_asset_details(1)
    assert transitions(sink, mark) == []


def test_another_writer_is_seen_as_diverged(project: Project) -> None:
    """A second service (as another process would) commits; the first one notices."""
    service, sink = make_service(project, auto=True)
    other = PackerService(project)
    assert service.pack_summary().total == 5
    assert other.relocate_asset(5, "music/theme", apply=True).status is Status.SUCCESS

    mark = len(sink.events)
    details = service.get_asset_details(5)
    assert details.asset is not None and details.asset.root == "music/theme"
    assert details.diagnostics == []
    assert transitions(sink, mark) == [
        ("healthy", "diverged"),
        ("diverged", "reconciling"),
        ("reconciling", "healthy"),
    ]


def test_failed_reload_is_reported_then_recovered(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, sink = make_service(project, auto=True)
    service.pack_summary()
    edit_png(project)
    real_load = service.runtime.load

    def broken() -> object:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(service.runtime, "load", broken)
    with pytest.raises(OSError):
        service.pack_summary()
    assert runtime_state(service) is RuntimeState.FAILED
    assert transitions(sink)[-1] == ("reconciling", "failed")

    monkeypatch.setattr(service.runtime, "load", real_load)
    mark = len(sink.events)
    assert service.pack_summary().status is Status.SUCCESS
    assert runtime_state(service) is RuntimeState.HEALTHY
    moves = transitions(sink, mark)
    assert moves[0][0] == "failed"
    assert moves[-1] == ("reconciling", "healthy")


# -- the service's own writes -----------------------------------------------------------------


def test_own_mutation_commits_without_reporting_a_change(project: Project) -> None:
    service, sink = make_service(project, auto=False)
    assert service.pack_summary().total == 5

    mark = len(sink.events)
    result = service.relocate_asset(2, "world/ground", apply=True)
    assert result.status is Status.SUCCESS
    assert result.runtime_state is RuntimeState.HEALTHY
    after = sink.events[mark:]
    assert transitions(sink, mark) == [("healthy", "committing"), ("committing", "healthy")]
    kinds = [e.kind for e in after]
    # the commit is over (healthy again) before the mutation reports it as applied
    assert kinds.index(EventKind.ACTION_APPLIED) > max(
        i for i, k in enumerate(kinds) if k is EventKind.RUNTIME_STATE_CHANGED
    )

    # the next read sees the committed state directly: our own write is not "behind" us
    mark = len(sink.events)
    details = service.get_asset_details(2)
    assert details.asset is not None and details.asset.root == "world/ground"
    assert service.pack_summary().total == 5
    assert transitions(sink, mark) == []
    assert runtime_state(service) is RuntimeState.HEALTHY


def test_pack_does_not_disturb_freshness(project: Project) -> None:
    service, sink = make_service(project, auto=False)
    service.pack_summary()
    assert service.pack().status is Status.SUCCESS
    service.pack_summary()
    assert transitions(sink) == []
    assert runtime_state(service) is RuntimeState.HEALTHY


def test_edit_before_a_pack_is_still_reported(project: Project) -> None:
    service, sink = make_service(project, auto=False)
    service.pack_summary()
    edit_png(project)
    assert service.pack().status is Status.SUCCESS
    service.pack_summary()
    assert ("healthy", "stale") in transitions(sink)
