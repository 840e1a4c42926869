"""`doctor --fix`: a preview that writes nothing, and `--fix --yes` that repairs only what it
previewed, after which doctor is clean of those findings."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import glyph_decl, make_png
from test_doctor import invoke, invoke_json, tree_digest

from packer_tasks.canonical_json import pretty

FIXED_CODES = {
    "registry.not_canonical",
    "registry.allocator_behind",
    "path.backslash",
    "declaration.schema",
    "asset.root_missing",
    "registry.root_invalid",
}


def _decl(name: str, files: list[str]) -> dict[str, Any]:
    return glyph_decl(str(uuid.uuid4()), name, files, tile_size=16)


@pytest.fixture
def fixable(starter_copy: Path) -> Path:
    """The starter plus one instance of every fixable finding."""
    assets = starter_copy / "assets"
    registry = json.loads((assets / ".prometeu" / "index.json").read_text())
    colours = iter([(200, 10, 10), (10, 200, 10), (10, 10, 200), (200, 200, 10)])

    def add(root: str, decl: dict[str, Any] | None, asset_id: int) -> None:
        if decl is not None:
            (assets / root).mkdir(parents=True, exist_ok=True)
            (assets / root / "asset.json").write_bytes(pretty(decl))
        registry["assets"].append(
            {
                "asset_id": asset_id,
                "included_in_build": True,
                "root": root,
                "asset_uuid": decl["asset_uuid"] if decl else str(uuid.uuid4()),
            }
        )

    make_png(assets / "fix/backslash/sub/t.png", 16, [(0, 0, 0), next(colours)])
    add("fix/backslash", _decl("backslash", ["sub\\t.png"]), 6)
    make_png(assets / "fix/no_preload/t.png", 16, [(0, 0, 0), next(colours)])
    no_preload = _decl("no_preload", ["t.png"])
    del no_preload["preload"]
    add("fix/no_preload", no_preload, 7)
    add("fix/gone", None, 8)  # registered, folder deleted by hand
    make_png(assets / "fix/moved_to/t.png", 16, [(0, 0, 0), next(colours)])
    moved = _decl("moved", ["t.png"])
    (assets / "fix/moved_to/asset.json").write_bytes(pretty(moved))
    registry["assets"].append(
        {
            "asset_id": 9,
            "asset_uuid": moved["asset_uuid"],
            "included_in_build": True,
            "root": "fix/moved_from",
        }
    )
    registry["assets"].reverse()  # entries out of order: not canonical
    registry["next_asset_id"] = 4  # behind ids 4..9
    (assets / ".prometeu" / "index.json").write_text(json.dumps(registry, indent=4))
    return starter_copy


def test_preview_lists_every_fix_and_writes_nothing(fixable: Path, tmp_path: Path) -> None:
    before = tree_digest(fixable)
    code, result = invoke_json(fixable, "doctor", "--fix")
    assert result["status"] == "preview" and code == 1  # still blocked until applied
    kinds = sorted(a["kind"] for a in result["proposed_actions"] if a["kind"] != "adopt")
    assert kinds == sorted(
        [
            "canonicalize_registry",
            "advance_allocator",
            "normalize_separators",
            "add_preload_disabled",
            "drop_missing_entry",
            "follow_moved_root",
        ]
    )
    paths = {a["path"] for a in result["proposed_actions"]}
    assert {
        "assets/.prometeu/index.json",
        "assets/fix/backslash/asset.json",
        "assets/fix/no_preload/asset.json",
    } <= paths
    assert result["applied_actions"] == []
    for d in result["diagnostics"]:
        if d["code"] in FIXED_CODES:
            assert d["fix"], d
    assert tree_digest(fixable) == before


def test_preview_without_cache_dir_creates_no_cache(fixable: Path) -> None:
    from click.testing import CliRunner

    from packer_tasks.cli import cli

    before = tree_digest(fixable)
    result = CliRunner().invoke(cli, ["--project", str(fixable), "doctor", "--fix"])
    assert result.exit_code == 1, result.output
    assert not (fixable / ".prometeu-cache").exists()
    assert tree_digest(fixable) == before


def test_apply_fixes_then_doctor_is_clean(fixable: Path) -> None:
    backslash_before = (fixable / "assets/fix/backslash/asset.json").read_bytes()
    before = tree_digest(fixable, packer_state=False)
    code, result = invoke_json(fixable, "doctor", "--fix", "--yes")
    assert result["operation"] == "doctor_fix"
    # The safe set never changes which ids exist: asset 8 (root gone) is still registered.
    assert len(result["applied_actions"]) == 5
    assert "drop_missing_entry" not in {a["kind"] for a in result["applied_actions"]}
    assert code == 1 and {d["code"] for d in result["blockers"]} == {"asset.root_missing"}
    registry = json.loads((fixable / "assets/.prometeu/index.json").read_text())
    assert 8 in [e["asset_id"] for e in registry["assets"]]
    # Dropping it takes its own consent.
    code, result = invoke_json(fixable, "doctor", "--fix", "--yes", "--drop-missing")
    assert [a["kind"] for a in result["applied_actions"]] == ["drop_missing_entry"]
    assert code == 0 and result["blocking"] is False, result["blockers"]

    after = tree_digest(fixable, packer_state=False)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert changed == {
        "assets/.prometeu/index.json",
        "assets/fix/backslash/asset.json",
        "assets/fix/no_preload/asset.json",
    }
    # The separator fix touches only the path string; every other byte is as authored.
    assert (fixable / "assets/fix/backslash/asset.json").read_bytes() == backslash_before.replace(
        b'"sub\\\\t.png"', b'"sub/t.png"'
    )
    decl = json.loads((fixable / "assets/fix/no_preload/asset.json").read_text())
    assert decl["preload"] == {"enabled": False}

    registry = json.loads((fixable / "assets/.prometeu/index.json").read_text())
    assert [e["asset_id"] for e in registry["assets"]] == [1, 2, 3, 4, 5, 6, 7, 9]
    assert registry["assets"][-1]["root"] == "fix/moved_to"
    assert registry["next_asset_id"] == 10
    assert (fixable / "assets/.prometeu/index.json").read_bytes() == pretty(registry)

    _, again = invoke_json(fixable, "doctor", "--workspace")
    assert not {d["code"] for d in again["diagnostics"]} & FIXED_CODES
    assert again["blocking"] is False
    assert invoke(fixable, "validate")[0] == 0


def test_apply_with_nothing_to_fix_changes_nothing(starter_copy: Path) -> None:
    before = tree_digest(starter_copy, packer_state=False)
    code, result = invoke_json(starter_copy, "doctor", "--fix", "--yes")
    assert code == 0 and result["applied_actions"] == []
    assert tree_digest(starter_copy, packer_state=False) == before


def test_apply_replans_from_the_files_as_they_are(fixable: Path) -> None:
    """A previewed fix whose reason is gone by apply time is not applied."""
    invoke_json(fixable, "doctor", "--fix")
    shutil.copytree(fixable / "assets/fix/moved_to", fixable / "assets/fix/gone")
    gone = json.loads((fixable / "assets/fix/gone/asset.json").read_text())
    gone["asset_uuid"] = str(uuid.uuid4())
    (fixable / "assets/fix/gone/asset.json").write_text(json.dumps(gone))
    _, result = invoke_json(fixable, "doctor", "--fix", "--yes")
    kinds = [a["kind"] for a in result["applied_actions"]]
    assert "drop_missing_entry" not in kinds
    registry = json.loads((fixable / "assets/.prometeu/index.json").read_text())
    assert 8 in [e["asset_id"] for e in registry["assets"]]


def test_drop_is_not_offered_for_a_quarantined_asset(starter_copy: Path) -> None:
    """A root that is missing because it sits in quarantine is restored, not dropped."""
    assert invoke(starter_copy, "quarantine", "5", "--yes")[0] == 0
    registry_path = starter_copy / "assets/.prometeu/index.json"
    registry = json.loads(registry_path.read_text())
    record = json.loads(
        next((starter_copy / "assets/.prometeu/quarantine").glob("*/quarantine.json")).read_text()
    )
    registry["assets"].append(record["registry_entry"])  # as if the registry write was lost
    registry_path.write_bytes(pretty(registry))
    _, result = invoke_json(starter_copy, "doctor")
    missing = [d for d in result["diagnostics"] if d["code"] == "asset.root_missing"]
    assert missing and missing[0]["fix"] is None
    assert "restore" in [a["kind"] for a in result["proposed_actions"]]


def test_a_root_moved_aside_keeps_its_id_through_fix_yes(starter_copy: Path) -> None:
    """A root moved away for a while is not forgotten by `--fix --yes` (issue 13)."""
    registry_path = starter_copy / "assets/.prometeu/index.json"
    entry = next(e for e in json.loads(registry_path.read_text())["assets"] if e["asset_id"] == 1)
    aside = starter_copy.parent / "aside"
    shutil.move(starter_copy / "assets" / entry["root"], aside)
    _, preview = invoke_json(starter_copy, "doctor", "--fix")
    assert "drop_missing_entry" in {a["kind"] for a in preview["proposed_actions"]}
    assert "--drop-missing" in preview["summary"]
    _, result = invoke_json(starter_copy, "doctor", "--fix", "--yes")
    assert "drop_missing_entry" not in {a["kind"] for a in result["applied_actions"]}
    shutil.move(aside, starter_copy / "assets" / entry["root"])
    registry = json.loads(registry_path.read_text())
    assert entry in registry["assets"]
    assert invoke(starter_copy, "validate")[0] == 0
    # --drop-missing alone is a usage error
    assert invoke(starter_copy, "doctor", "--drop-missing")[0] == 2
