"""Quarantine and restore: a reversible move out of the build that keeps identity and bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from test_doctor import invoke, invoke_json, tree_digest


def _registry(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "assets/.prometeu/index.json").read_text())
    return data


def _entry(project: Path, asset_id: int) -> dict[str, Any] | None:
    return next((e for e in _registry(project)["assets"] if e["asset_id"] == asset_id), None)


def test_round_trip_gives_back_bytes_and_identity(starter_copy: Path) -> None:
    root = starter_copy / "assets/sfx/basic"
    files_before = tree_digest(root)
    entry_before = _entry(starter_copy, 4)
    uuid_before = json.loads((root / "asset.json").read_text())["asset_uuid"]
    whole_before = tree_digest(starter_copy, packer_state=False)

    code, preview = invoke_json(starter_copy, "quarantine", "sfx/basic")
    assert code == 0 and preview["status"] == "preview"
    assert [a["kind"] for a in preview["proposed_actions"]] == [
        "move_root",
        "write_record",
        "unregister",
    ]
    assert tree_digest(starter_copy, packer_state=False) == whole_before

    code, done = invoke_json(starter_copy, "quarantine", "sfx/basic", "--yes")
    assert code == 0 and done["status"] == "success", done
    assert not root.exists() and not (starter_copy / "assets/sfx").exists()
    assert _entry(starter_copy, 4) is None
    assert _registry(starter_copy)["next_asset_id"] == 6
    folder = starter_copy / "assets/.prometeu/quarantine/sfx__basic"
    record = json.loads((folder / "quarantine.json").read_text())
    assert record["original_root"] == "sfx/basic" and record["asset_id"] == 4
    assert record["asset_uuid"] == uuid_before and record["registry_entry"] == entry_before
    assert {f["path"]: f["blake3"] for f in record["files"]}.keys() == {
        "asset.json",
        "coin.wav",
        "explosion.wav",
        "jump.wav",
    }

    # Out of the build: the pack no longer has it; list and doctor say where it went.
    code, listed = invoke_json(starter_copy, "quarantine", "--list")
    assert code == 0 and [e["name"] for e in listed["entries"]] == ["sfx__basic"]
    _, doctor = invoke_json(starter_copy, "doctor")
    assert [d["code"] for d in doctor["diagnostics"]] == ["hygiene.quarantined_asset"]
    _, summary = invoke_json(starter_copy, "summary")
    assert 4 not in [a["asset_id"] for a in summary["assets"]]
    # A registration meanwhile gets a fresh id; 4 stays reserved for the restore.
    assert invoke(starter_copy, "register", "wip/unused_idea")[0] == 0
    assert _entry(starter_copy, 6) is not None

    code, preview = invoke_json(starter_copy, "restore", "sfx__basic")
    assert code == 0 and preview["status"] == "preview" and folder.exists()
    code, restored = invoke_json(starter_copy, "restore", "sfx__basic", "--yes")
    assert code == 0 and restored["status"] == "success", restored
    assert tree_digest(root) == files_before
    assert _entry(starter_copy, 4) == entry_before
    assert json.loads((root / "asset.json").read_text())["asset_uuid"] == uuid_before
    assert not folder.exists()
    assert _registry(starter_copy)["next_asset_id"] == 7
    assert invoke(starter_copy, "validate")[0] == 0


def test_unregistered_root_round_trip(starter_copy: Path) -> None:
    root = starter_copy / "assets/wip/unused_idea"
    before = tree_digest(root)
    registry_before = _registry(starter_copy)
    assert invoke(starter_copy, "quarantine", "wip/unused_idea", "--yes")[0] == 0
    assert not root.exists() and _registry(starter_copy) == registry_before
    code, restored = invoke_json(starter_copy, "restore", "wip/unused_idea", "--yes")
    assert code == 0, restored
    assert tree_digest(root) == before and _registry(starter_copy) == registry_before


def test_excluded_asset_comes_back_excluded(starter_copy: Path) -> None:
    assert invoke(starter_copy, "exclude", "2")[0] == 0
    assert invoke(starter_copy, "quarantine", "2", "--yes")[0] == 0
    assert invoke(starter_copy, "restore", "2", "--yes")[0] == 0
    assert _entry(starter_copy, 2) == {
        "asset_id": 2,
        "included_in_build": False,
        "asset_uuid": "37054bc7-66f3-42a0-9886-28f8a5fa6c31",
        "root": "world/tiles_8",
    }


def test_restore_refuses_an_occupied_root(starter_copy: Path) -> None:
    assert invoke(starter_copy, "quarantine", "music/loop", "--yes")[0] == 0
    shutil.copytree(starter_copy / "assets/ui/hud_icons", starter_copy / "assets/music/loop")
    before = tree_digest(starter_copy, packer_state=False)
    code, result = invoke_json(starter_copy, "restore", "music__loop", "--yes")
    assert code == 1 and result["status"] == "blocked"
    assert [d["code"] for d in result["blockers"]] == ["quarantine.target_occupied"]
    assert "music/loop" in result["blockers"][0]["message"]
    assert tree_digest(starter_copy, packer_state=False) == before


def test_restore_reports_files_changed_in_quarantine(starter_copy: Path) -> None:
    assert invoke(starter_copy, "quarantine", "5", "--yes")[0] == 0
    wav = starter_copy / "assets/.prometeu/quarantine/music__loop/files/loop.wav"
    wav.write_bytes(wav.read_bytes() + b"\0\0")
    code, result = invoke_json(starter_copy, "restore", "music__loop", "--yes")
    assert code == 0
    assert [d["code"] for d in result["diagnostics"]] == ["quarantine.files_changed"]


def test_refusals(starter_copy: Path) -> None:
    code, result = invoke_json(starter_copy, "quarantine", "99", "--yes")
    assert code == 1 and result["blockers"][0]["code"] == "asset.not_found"
    code, result = invoke_json(starter_copy, "restore", "nothing_here")
    assert code == 1 and result["blockers"][0]["code"] == "quarantine.not_found"
    assert invoke(starter_copy, "quarantine")[0] == 2
    assert invoke(starter_copy, "quarantine", "--list", "1")[0] == 2
