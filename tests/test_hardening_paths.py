"""No read, move or delete through a symbolic link or outside the project (SPEC §3), and a
`remove --delete-files` killed half-way is finished by the next command (issue 12).

Every case drives the real CLI on a real copy of the starter project; the folder outside the
project is compared byte for byte before and after.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI, STARTER, cli_env, copy_project, make_png, run_cli

from packer_tasks.workspace.journal import journal_path
from packer_tasks.workspace.project import Project
from packer_tasks.workspace.registry_store import load_registry, save_registry

LINK_CODE = "path.symlink_escapes"


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every entry under `folder` with its bytes (links by target, folders by name)."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = f"-> {p.readlink()}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = p.read_bytes()
    return out


def register_raw(game: Path, root: str, asset_uuid: str) -> int:
    """Write a registry entry by hand (the packer itself refuses to register such a root)."""
    path = Project(game).registry_path
    registry, diags = load_registry(path)
    assert registry is not None, diags
    registry, new_id = registry.allocate(asset_uuid, root, True)
    save_registry(path, registry)
    return new_id


def make_victim(where: Path) -> str:
    """A valid asset root (a copy of the starter's hud icons with a fresh uuid)."""
    shutil.copytree(STARTER / "assets" / "ui" / "hud_icons", where)
    decl_path = where / "asset.json"
    decl = json.loads(decl_path.read_text("utf-8"))
    decl["asset_uuid"] = str(uuid.uuid4())
    decl_path.write_text(json.dumps(decl, indent=2), "utf-8")
    return str(decl["asset_uuid"])


def cli(game: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli("--project", game, *args, "--json")
    assert "Traceback" not in err, err
    try:
        return code, json.loads(out)
    except ValueError:
        raise AssertionError(f"{args}: exit {code}: {out!r} {err!r}") from None


def codes(result: dict[str, Any]) -> set[str]:
    found = {d["code"] for d in result.get("diagnostics", [])}
    found |= {d["code"] for d in result.get("blockers", [])}
    for asset in result.get("assets", []) or []:
        found |= {d["code"] for d in asset.get("diagnostics", [])}
    return found | ({LINK_CODE} if LINK_CODE in json.dumps(result) else set())


@pytest.fixture
def game(tmp_path: Path) -> Path:
    return copy_project(STARTER, tmp_path / "game")


def _linked_parent(game: Path, outside: Path) -> str:
    (game / "assets" / "linkdir").symlink_to(outside, target_is_directory=True)
    return "linkdir/victim"


def _linked_root(game: Path, outside: Path) -> str:
    (game / "assets" / "ui" / "victim").symlink_to(outside / "victim", target_is_directory=True)
    return "ui/victim"


def _linked_deeper(game: Path, outside: Path) -> str:
    (game / "assets" / "deep" / "er").mkdir(parents=True)
    (game / "assets" / "deep" / "er" / "hop").symlink_to(outside, target_is_directory=True)
    return "deep/er/hop/victim"


LINKS = {"parent": _linked_parent, "root": _linked_root, "deeper": _linked_deeper}


@pytest.fixture(params=sorted(LINKS))
def linked(request: pytest.FixtureRequest, game: Path, tmp_path: Path) -> tuple[Path, int, Path]:
    """A project whose registry names a root reached through a link to ../outside."""
    outside = tmp_path / "outside"
    asset_uuid = make_victim(outside / "victim")
    root = LINKS[request.param](game, outside)
    return game, register_raw(game, root, asset_uuid), outside


def test_validate_and_pack_block_a_root_through_a_link(linked: tuple[Path, int, Path]) -> None:
    game, _asset_id, outside = linked
    before = tree(outside)
    code, result = cli(game, "validate")
    assert code == 1 and LINK_CODE in codes(result), result
    code, result = cli(game, "pack")
    assert code == 1 and LINK_CODE in codes(result), result
    assert not (game / "build" / "assets.pa").exists()
    code, out, _ = run_cli("--project", game, "show", str(_asset_id))
    assert LINK_CODE in out and "symbolic link" in out
    assert tree(outside) == before


def test_mutations_never_touch_the_outside_folder(linked: tuple[Path, int, Path]) -> None:
    game, asset_id, outside = linked
    before = tree(outside)
    for args in (
        ("remove", str(asset_id), "--delete-files", "--yes"),
        ("relocate", str(asset_id), "moved/victim", "--yes"),
        ("quarantine", str(asset_id), "--yes"),
    ):
        code, result = cli(game, *args)
        assert code == 1, (args, result)
        assert LINK_CODE in codes(result), (args, result)
        assert tree(outside) == before, args
    assert not (game / "assets" / "moved").exists()
    assert not (Project(game).quarantine_dir).exists()
    registry, _ = load_registry(Project(game).registry_path)
    assert registry is not None and registry.by_id(asset_id) is not None
    # Removing only the entry is fine, and still leaves the outside alone.
    code, result = cli(game, "remove", str(asset_id), "--yes")
    assert code == 0, result
    assert tree(outside) == before


def test_register_and_new_refuse_a_linked_place(game: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_victim(outside / "victim")
    (game / "assets" / "linkdir").symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    code, result = cli(game, "register", "linkdir/victim")
    assert code == 1 and LINK_CODE in codes(result), result
    png = make_png(tmp_path / "in" / "a.png", 8)
    code, result = cli(game, "new", "glyph_bank", "linkdir/fresh", str(png), "--tile-size", "8")
    assert code == 1 and LINK_CODE in codes(result), result
    code, result = cli(game, "relocate", "1", "linkdir/moved", "--yes")
    assert code == 1 and LINK_CODE in codes(result), result
    assert tree(outside) == before
    assert (game / "assets" / "ui" / "hud_icons" / "asset.json").is_file()


def test_restore_refuses_to_move_into_a_linked_folder(game: Path, tmp_path: Path) -> None:
    code, result = cli(game, "quarantine", "chars/hero_32", "--yes")
    assert code == 0, result
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(game / "assets" / "chars", ignore_errors=True)  # pruned when emptied
    (game / "assets" / "chars").symlink_to(outside, target_is_directory=True)
    code, result = cli(game, "restore", "chars__hero_32", "--yes")
    assert code == 1 and LINK_CODE in codes(result), result
    assert list(outside.iterdir()) == []


def test_a_root_inside_the_packer_folder_is_refused(game: Path) -> None:
    inside = game / "assets" / ".prometeu" / "hidden"
    asset_uuid = make_victim(inside)
    asset_id = register_raw(game, ".prometeu/hidden", asset_uuid)
    before = tree(inside)
    code, result = cli(game, "validate")
    assert code == 1 and "path.reserved" in codes(result), result
    code, result = cli(game, "remove", str(asset_id), "--delete-files", "--yes")
    assert code == 1 and "path.reserved" in codes(result), result
    code, result = cli(game, "register", ".prometeu/hidden")
    assert code == 1, result
    assert tree(inside) == before


# ------------------------------------------------------------------------------------------
# remove --delete-files, killed half-way


def _crash(game: Path, point: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--project", str(game), *args],
        env=cli_env(PROMETEU_PACKER_CRASH_AT=point),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["list", "validate", "exclude 2"])
def test_remove_killed_half_way_is_finished_by_the_next_command(game: Path, command: str) -> None:
    folder = game / "assets" / "ui" / "hud_icons"
    count = len(list(folder.iterdir()))
    proc = _crash(game, "remove_partly_deleted", "remove", "1", "--delete-files", "--yes")
    assert proc.returncode == -9, proc.stderr
    registry, _ = load_registry(Project(game).registry_path)
    assert registry is not None and registry.by_id(1) is None
    assert folder.is_dir() and 0 < len(list(folder.iterdir())) < count  # half deleted
    assert journal_path(Project(game)).exists()
    _code, _out, err = run_cli("--project", game, *command.split())
    assert "Traceback" not in err, err
    assert not folder.exists() and not (game / "assets" / "ui").exists()
    assert not journal_path(Project(game)).exists()
    for other in ("world/tiles_8", "chars/hero_32", "sfx/basic", "music/loop"):
        assert (game / "assets" / other / "asset.json").is_file()


def test_remove_killed_before_the_registry_changed_keeps_the_asset(game: Path) -> None:
    before = tree(game / "assets" / "ui" / "hud_icons")
    proc = _crash(game, "remove_journaled", "remove", "1", "--delete-files", "--yes")
    assert proc.returncode == -9, proc.stderr
    code, result = cli(game, "list")
    assert code == 0, result
    registry, _ = load_registry(Project(game).registry_path)
    assert registry is not None and registry.by_id(1) is not None
    assert tree(game / "assets" / "ui" / "hud_icons") == before
    assert not journal_path(Project(game)).exists()
    code, result = cli(game, "validate")
    assert code == 0, result


def test_remove_killed_after_unregistering_deletes_on_recovery(game: Path) -> None:
    proc = _crash(game, "remove_unregistered", "remove", "1", "--delete-files", "--yes")
    assert proc.returncode == -9, proc.stderr
    assert (game / "assets" / "ui" / "hud_icons" / "asset.json").is_file()
    code, result = cli(game, "list")
    assert code == 0, result
    assert not (game / "assets" / "ui" / "hud_icons").exists()


def test_a_forged_journal_never_deletes_through_a_link(game: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_victim(outside / "victim")
    (game / "assets" / "linkdir").symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    journal = journal_path(Project(game))
    for record in (
        {"kind": "remove", "asset_id": 99, "asset_uuid": "x", "root": "linkdir/victim"},
        {"asset_id": 1, "from": "linkdir/victim", "to": "ui/hud_icons"},
        {"asset_id": 1, "from": "ui/hud_icons", "to": "../../outside/victim"},
    ):
        journal.write_text(json.dumps(record), "utf-8")
        code, result = cli(game, "exclude", "2")
        assert code == 0, result
        assert not journal.exists()
        assert tree(outside) == before, record
    assert (game / "assets" / "ui" / "hud_icons" / "asset.json").is_file()
