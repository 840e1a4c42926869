"""Adopting art in place and changing settings (issue 13), through the real CLI on real
files: exit codes, `--json` results and the bytes on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import checked_json as cli_json
from conftest import make_png, make_wav, run_cli

REGISTRY = Path("assets/.prometeu/index.json")


@pytest.fixture
def game(tmp_path: Path) -> Path:
    game = tmp_path / "game"
    game.mkdir()
    cli_json("init", cwd=game)
    return game


def decl(game: Path, root: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((game / "assets" / root / "asset.json").read_text())
    return data


def test_adopt_a_folder_of_pngs_in_place(game: Path) -> None:
    icons = game / "assets/ui/icons"
    for name in ("coin.png", "heart.png", "arrow.png"):
        make_png(icons / name, 8)
    # register points a folder without asset.json at adopt, not at relocate
    res = cli_json("register", "ui/icons", cwd=game, code=1)
    assert "adopt ui/icons" in res["blockers"][0]["hint"]
    assert "relocate" not in res["blockers"][0]["hint"]

    res = cli_json("adopt", "ui/icons", cwd=game)
    assert res["status"] == "success" and res["affected_assets"][0]["asset_id"] == 1
    d = decl(game, "ui/icons")
    assert d["type"] == "glyph_bank" and d["output"]["metadata"] == {"tile_size": 8}
    assert [a["file"] for a in d["artifacts"]] == ["arrow.png", "coin.png", "heart.png"]
    reg = json.loads((game / REGISTRY).read_text())
    assert reg["assets"][0]["root"] == "ui/icons"
    assert cli_json("validate", cwd=game)["green"] is True
    # the files stayed where they were, untouched
    assert sorted(p.name for p in icons.iterdir()) == [
        "arrow.png",
        "asset.json",
        "coin.png",
        "heart.png",
    ]


def test_adopt_with_order_family_and_sound(game: Path) -> None:
    for name in ("b.wav", "a.wav"):
        make_wav(game / "assets/sfx/steps" / name)
    res = cli_json("adopt", "sfx/steps", "--order", "b.wav,a.wav", cwd=game)
    assert res["status"] == "success"
    assert [a["file"] for a in decl(game, "sfx/steps")["artifacts"]] == ["b.wav", "a.wav"]
    rc, _, _err = run_cli("adopt", "sfx/x", "--family", "sound_bank", "--tile-size", "8", cwd=game)
    assert rc == 2


def test_adopt_refuses_what_would_block_and_mixed_folders(game: Path) -> None:
    make_png(game / "assets/ui/big/big.png", 64)
    before = (game / REGISTRY).read_bytes()
    res = cli_json("adopt", "ui/big", "--tile-size", "16", cwd=game, code=1)
    assert "glyph.tile_dimensions" in {d["code"] for d in res["blockers"]}
    assert not (game / "assets/ui/big/asset.json").exists()
    assert (game / REGISTRY).read_bytes() == before
    res = cli_json("adopt", "ui/big", "--tile-size", "16", "--force", cwd=game)
    assert res["status"] == "success" and (game / "assets/ui/big/asset.json").exists()

    make_png(game / "assets/mixed/a.png", 8)
    make_wav(game / "assets/mixed/a.wav")
    res = cli_json("adopt", "mixed", cwd=game, code=1)
    assert res["blockers"][0]["code"] == "adopt.family_unknown"
    assert cli_json("adopt", "mixed", "--family", "sound_bank", cwd=game)["status"] == "success"
    res = cli_json("adopt", "nowhere", cwd=game, code=1)
    assert res["blockers"][0]["code"] == "asset.root_missing"


@pytest.fixture
def tiles(game: Path) -> Path:
    for name in ("a.png", "b.png"):
        make_png(game / "assets/ui/t" / name, 16, [(0, 0, 0), (255, 0, 68)])
    make_wav(game / "assets/sfx/s/s.wav", frames=100)
    cli_json("adopt", "ui/t", cwd=game)
    cli_json("adopt", "sfx/s", cwd=game)
    return game


def test_set_previews_then_applies_with_consent(tiles: Path) -> None:
    game = tiles
    before = (game / "assets/ui/t/asset.json").read_bytes()
    res = cli_json("set", "ui/t", "preload", "on", "--slot", "3", cwd=game)
    assert res["status"] == "preview" and res["proposed_actions"]
    assert (game / "assets/ui/t/asset.json").read_bytes() == before
    res = cli_json("set", "ui/t", "preload", "on", "--slot", "3", "--yes", cwd=game)
    assert res["status"] == "success"
    assert decl(game, "ui/t")["preload"] == {"enabled": True, "slot": 3}
    cli_json("set", "1", "preload", "off", "--yes", cwd=game)
    assert decl(game, "ui/t")["preload"] == {"enabled": False}

    cli_json("set", "ui/t", "palette", "#000000,#FF0044", "--yes", cwd=game)
    palettes = decl(game, "ui/t")["output"]["pipeline"]["palettes"]
    assert palettes == [{"index": 0, "palette": {"colors": ["#000000", "#ff0044"]}}]
    cli_json("set", "ui/t", "palette", "derive", "--yes", cwd=game)
    assert "palettes" not in decl(game, "ui/t")["output"]["pipeline"]
    art = make_png(game.parent / "pal.png", 4, [(0, 0, 0), (10, 20, 30), (255, 0, 68)])
    cli_json("set", "ui/t", "palette", str(art), "--yes", cwd=game)
    palettes = decl(game, "ui/t")["output"]["pipeline"]["palettes"]
    assert palettes[0]["palette"]["colors"] == ["#000000", "#0a141e", "#ff0044"]
    assert cli_json("validate", cwd=game)["green"] is True

    cli_json("set", "ui/t", "order", "b.png,a.png", "--yes", cwd=game)
    arts = sorted(decl(game, "ui/t")["artifacts"], key=lambda a: a["index"])
    assert [a["file"] for a in arts] == ["b.png", "a.png"]
    assert cli_json("validate", cwd=game)["green"] is True


def test_set_loop_add_remove_and_tile_size(tiles: Path) -> None:
    game = tiles
    cli_json("set", "sfx/s", "loop", "s.wav", "10", "50", "--yes", cwd=game)
    assert decl(game, "sfx/s")["artifacts"][0] == {
        "index": 0,
        "file": "s.wav",
        "loop_start": 10,
        "loop_end": 50,
    }
    res = cli_json("set", "sfx/s", "loop", "s.wav", "10", "5000", "--yes", cwd=game, code=1)
    assert res["blockers"][0]["code"] == "sound.loop_out_of_range"
    res = cli_json("set", "sfx/s", "tile-size", "8", cwd=game, code=1)
    assert res["blockers"][0]["code"] == "setting.invalid"

    extra = make_png(game.parent / "c.png", 16, [(0, 0, 0), (255, 0, 68)])
    cli_json("set", "ui/t", "add", str(extra), "--yes", cwd=game)
    assert (game / "assets/ui/t/c.png").read_bytes() == extra.read_bytes()
    assert [a["file"] for a in decl(game, "ui/t")["artifacts"]][-1] == "c.png"
    cli_json("set", "ui/t", "remove", "a.png", "--yes", cwd=game)
    d = decl(game, "ui/t")
    assert [a["index"] for a in d["artifacts"]] == [0, 1]
    assert "a.png" not in d["inputs"]["tiles"] and (game / "assets/ui/t/a.png").exists()

    res = cli_json("set", "ui/t", "tile-size", "8", "--yes", cwd=game, code=1)
    assert res["blockers"][0]["code"] == "glyph.tile_dimensions"
    assert decl(game, "ui/t")["output"]["metadata"]["tile_size"] == 16
    assert cli_json("validate", cwd=game)["green"] is True
    rc, _, _ = run_cli("set", "ui/t", "colour", "red", cwd=game)
    assert rc == 2
    shutil.rmtree(game / "assets/ui/t")


def test_init_scaffolds_a_game_repo_once(tmp_path: Path) -> None:
    game = tmp_path / "mygame"
    game.mkdir()
    (game / ".gitignore").write_text("*.blend1\n/build\n")
    res = cli_json("init", cwd=game)
    assert {a["path"] for a in res["applied_actions"]} >= {"dodo.py", ".gitignore"}
    assert (
        (game / "dodo.py")
        .read_text()
        .startswith("from packer_tasks.dodo import *  # noqa: F401,F403")
    )
    ignore = (game / ".gitignore").read_text()
    assert ignore.startswith("*.blend1\n/build\n")
    assert ".prometeu-cache/" in ignore and ".doit.db*" in ignore
    assert "build/" not in ignore.replace("/build\n", "")  # already there as /build
    # twice: nothing changes, nothing is duplicated
    res = cli_json("init", cwd=game)
    assert res["applied_actions"] == []
    assert (game / ".gitignore").read_text() == ignore

    # an existing dodo.py is the game's own: never touched
    other = tmp_path / "other"
    other.mkdir()
    (other / "dodo.py").write_text("def task_hello(): ...\n")
    cli_json("init", cwd=other)
    assert (other / "dodo.py").read_text() == "def task_hello(): ...\n"
    assert (other / ".gitignore").read_text().count(".doit.db*") == 1


def test_explain_sees_a_preload_toggle(starter_copy: Path) -> None:
    """The payload is unchanged, but assets.pa is not: explain says so (issue 13)."""
    cli_json("pack", cwd=starter_copy)
    assert cli_json("explain", "1", cwd=starter_copy)["changes"] == []
    cli_json("set", "1", "preload", "off", "--yes", cwd=starter_copy)
    res = cli_json("explain", "1", cwd=starter_copy)
    assert res["would_rebuild"] is False  # the payload itself is cached
    assert "build: asset 1 no longer preloads" in res["changes"]
    assert "assets.pa would change" in res["summary"]
    cli_json("pack", cwd=starter_copy)
    assert cli_json("explain", "1", cwd=starter_copy)["changes"] == []
