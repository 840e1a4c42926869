"""The workspace commands as a new user meets them: the real CLI, on real files, in tmp_path.

Every step checks what is on disk afterwards (registry bytes, asset.json bytes, folders),
not only the exit code.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from conftest import checked_json as cli_json
from conftest import make_png, make_wav, run_cli, run_cli_each

REGISTRY = Path("assets/.prometeu/index.json")
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


# Helpers -------------------------------------------------------------------------------------


def canonical(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode("utf-8")


def assert_canonical(path: Path) -> Any:
    data = path.read_bytes()
    obj = json.loads(data)
    assert data == canonical(obj), f"{path} is not written canonically"
    return obj


def cli_json_all(commands: list[tuple[str, ...]], cwd: Path, code: int = 0) -> list[dict[str, Any]]:
    """Independent read-only or refused commands, each run once; each must exit `code`."""
    out = []
    for args, (rc, stdout, stderr) in zip(
        commands, run_cli_each([(*c, "--json") for c in commands], cwd=cwd), strict=True
    ):
        assert "Traceback" not in stdout + stderr
        assert rc == code, f"{args}: exit {rc}\n{stdout}\n{stderr}"
        out.append(json.loads(stdout))
    return out


def check_registry(project: Path) -> dict[str, Any]:
    """The registry is canonical, sorted, POSIX-relative, and agrees with each asset.json."""
    reg: dict[str, Any] = assert_canonical(project / REGISTRY)
    assert set(reg) == {"assets", "next_asset_id", "schema_version"}
    assert reg["schema_version"] == 1
    ids = [e["asset_id"] for e in reg["assets"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert reg["next_asset_id"] > max(ids, default=0)
    for e in reg["assets"]:
        assert set(e) == {"asset_id", "asset_uuid", "included_in_build", "root"}
        root = e["root"]
        parts = root.split("/")
        assert "\\" not in root and not PurePosixPath(root).is_absolute()
        assert all(p not in ("", ".", "..") for p in parts), root
        decl = assert_canonical(project / "assets" / root / "asset.json")
        assert decl["asset_uuid"] == e["asset_uuid"]
        # registry-owned facts never go into asset.json
        assert not {"asset_id", "included_in_build", "root"} & set(decl)
    return reg


def entry(reg: dict[str, Any], asset_id: int) -> dict[str, Any] | None:
    return next((e for e in reg["assets"] if e["asset_id"] == asset_id), None)


def registered(reg: dict[str, Any], asset_id: int) -> dict[str, Any]:
    """The registry entry of `asset_id`, which must exist."""
    found = entry(reg, asset_id)
    assert found is not None, f"asset {asset_id} is not in the registry"
    return found


def make_inputs(base: Path) -> tuple[Path, Path, Path]:
    src = base / "src"
    a = make_png(src / "heart.png", 16, [(0, 0, 0), RED])
    b = make_png(src / "coin.png", 16, [(0, 0, 0), GREEN, BLUE])
    wav = make_wav(src / "jump.wav", frames=300, rate=22050)
    return a, b, wav


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module via the CLI: init + glyph bank ui/hud (1) + sound bank sfx/jump (2)."""
    base = tmp_path_factory.mktemp("template")
    a, b, wav = make_inputs(base)
    game = base / "game"
    game.mkdir()
    cli_json("init", cwd=game)
    cli_json("new", "glyph_bank", "ui/hud", "--tile-size", "16", str(a), str(b), cwd=game)
    cli_json("new", "sound_bank", "sfx/jump", str(wav), cwd=game)
    return game


@pytest.fixture
def game(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template project at tmp_path/game."""
    return Path(shutil.copytree(template, tmp_path / "game"))


# The whole journey ---------------------------------------------------------------------------


def test_new_user_journey(tmp_path: Path) -> None:
    heart, coin, wav = make_inputs(tmp_path)
    game = tmp_path / "game"
    game.mkdir()

    # init: an empty, canonical registry; running it again changes nothing
    res = cli_json("init", cwd=game)
    assert res["status"] == "success"
    empty = {"assets": [], "next_asset_id": 1, "schema_version": 1}
    assert (game / REGISTRY).read_bytes() == canonical(empty)
    res = cli_json("init", cwd=game)
    assert res["status"] == "success" and res["applied_actions"] == []
    assert (game / REGISTRY).read_bytes() == canonical(empty)

    # new glyph_bank from two real 16x16 PNGs
    res = cli_json(
        "new", "glyph_bank", "ui/hud", "--tile-size", "16", str(heart), str(coin), cwd=game
    )
    assert res["status"] == "success"
    assert res["affected_assets"] == [{"asset_id": 1, "root": "ui/hud"}]
    hud = game / "assets/ui/hud"
    assert (hud / "heart.png").read_bytes() == heart.read_bytes()
    assert (hud / "coin.png").read_bytes() == coin.read_bytes()
    decl = assert_canonical(hud / "asset.json")
    assert decl["schema_version"] == 1
    assert decl["type"] == "glyph_bank"
    assert uuid.UUID(decl["asset_uuid"]).version == 4
    assert sorted(f for files in decl["inputs"].values() for f in files) == [
        "coin.png",
        "heart.png",
    ]
    assert decl["artifacts"] == [
        {"file": "heart.png", "index": 0},
        {"file": "coin.png", "index": 1},
    ]
    assert decl["output"]["format"] == "GLYPH/indexed_v1"
    assert decl["output"]["codec"] == "NONE"
    assert decl["output"]["metadata"]["tile_size"] == 16
    assert decl["preload"]["enabled"] is False
    hud_uuid = decl["asset_uuid"]

    # new sound_bank from a real WAV
    res = cli_json("new", "sound_bank", "sfx/jump", str(wav), cwd=game)
    assert res["affected_assets"] == [{"asset_id": 2, "root": "sfx/jump"}]
    jump = game / "assets/sfx/jump"
    assert (jump / "jump.wav").read_bytes() == wav.read_bytes()
    sdecl = assert_canonical(jump / "asset.json")
    assert sdecl["type"] == "sound_bank"
    assert sdecl["output"]["format"] == "SOUNDS/pcm16le_v1"
    assert sdecl["artifacts"] == [{"file": "jump.wav", "index": 0}]
    jump_uuid = sdecl["asset_uuid"]
    assert jump_uuid != hud_uuid

    reg = check_registry(game)
    assert reg == {
        "assets": [
            {"asset_id": 1, "asset_uuid": hud_uuid, "included_in_build": True, "root": "ui/hud"},
            {"asset_id": 2, "asset_uuid": jump_uuid, "included_in_build": True, "root": "sfx/jump"},
        ],
        "next_asset_id": 3,
        "schema_version": 1,
    }

    # list --json: both registered, in the build, healthy
    rows = {a["root"]: a for a in cli_json("list", cwd=game)["assets"]}
    assert set(rows) == {"ui/hud", "sfx/jump"}
    assert rows["ui/hud"]["asset_id"] == 1 and rows["sfx/jump"]["asset_id"] == 2
    assert rows["ui/hud"]["family"] == "glyph_bank" and rows["sfx/jump"]["family"] == "sound_bank"
    assert rows["ui/hud"]["artifact_count"] == 2 and rows["sfx/jump"]["artifact_count"] == 1
    assert rows["ui/hud"]["asset_uuid"] == hud_uuid
    for row in rows.values():
        assert row["registered"] and row["included_in_build"] and not row["blocking"]

    # exclude (by id): identity kept, only the registry changes; include back by root
    jump_decl_bytes = (jump / "asset.json").read_bytes()
    cli_json("exclude", "2", cwd=game)
    reg = check_registry(game)
    assert entry(reg, 2) == {
        "asset_id": 2,
        "asset_uuid": jump_uuid,
        "included_in_build": False,
        "root": "sfx/jump",
    }
    assert (jump / "asset.json").read_bytes() == jump_decl_bytes
    summary = cli_json("summary", cwd=game)
    assert [a["asset_id"] for a in summary["assets"]] == [1]
    cli_json("include", "sfx/jump", cwd=game)
    assert registered(check_registry(game), 2)["included_in_build"] is True
    cli_json("exclude", "sfx/jump", cwd=game)
    assert registered(check_registry(game), 2)["included_in_build"] is False

    # relocate without --yes: a preview that changes nothing
    before = (game / REGISTRY).read_bytes()
    res = cli_json("relocate", "1", "art/hud", cwd=game)
    assert res["status"] == "preview" and res["proposed_actions"]
    assert res["applied_actions"] == []
    assert (game / REGISTRY).read_bytes() == before
    assert (hud / "asset.json").is_file() and not (game / "assets/art").exists()

    # relocate --yes (by root): folder moved, ids unchanged, asset.json untouched
    hud_decl_bytes = (hud / "asset.json").read_bytes()
    res = cli_json("relocate", "ui/hud", "art/hud", "--yes", cwd=game)
    assert res["status"] == "success"
    moved = game / "assets/art/hud"
    assert not hud.exists()
    assert (moved / "asset.json").read_bytes() == hud_decl_bytes
    assert (moved / "heart.png").read_bytes() == heart.read_bytes()
    assert (moved / "coin.png").read_bytes() == coin.read_bytes()
    reg = check_registry(game)
    assert entry(reg, 1) == {
        "asset_id": 1,
        "asset_uuid": hud_uuid,
        "included_in_build": True,
        "root": "art/hud",
    }
    assert reg["next_asset_id"] == 3

    # remove (registry only): the entry goes, the files stay and show up as unregistered
    res = cli_json("remove", "2", cwd=game)
    assert res["status"] == "success"
    reg = check_registry(game)
    assert entry(reg, 2) is None and reg["next_asset_id"] == 3
    assert (jump / "jump.wav").read_bytes() == wav.read_bytes()
    assert (jump / "asset.json").read_bytes() == jump_decl_bytes
    rows = {a["root"]: a for a in cli_json("list", cwd=game)["assets"]}
    assert rows["sfx/jump"]["registered"] is False and rows["sfx/jump"]["asset_id"] is None
    assert rows["sfx/jump"]["asset_uuid"] == jump_uuid

    # registering it again gives a fresh id: 2 was the newest id and is still never reused
    res = cli_json("register", "sfx/jump", cwd=game)
    assert res["affected_assets"] == [{"asset_id": 3, "root": "sfx/jump"}]
    reg = check_registry(game)
    assert registered(reg, 3)["asset_uuid"] == jump_uuid
    assert reg["next_asset_id"] == 4

    # remove --delete-files without --yes: a preview, nothing deleted or unregistered
    before = (game / REGISTRY).read_bytes()
    res = cli_json("remove", "3", "--delete-files", cwd=game)
    assert res["status"] == "preview"
    assert any(a["kind"] == "delete_root" for a in res["proposed_actions"])
    assert (game / REGISTRY).read_bytes() == before
    assert (jump / "jump.wav").read_bytes() == wav.read_bytes()

    # ... with --yes: unregistered and deleted
    res = cli_json("remove", "sfx/jump", "--delete-files", "--yes", cwd=game)
    assert res["status"] == "success"
    assert not jump.exists()
    reg = check_registry(game)
    assert [e["asset_id"] for e in reg["assets"]] == [1]
    assert reg["next_asset_id"] == 4

    # a new asset gets an id above every id ever issued (1, 2, 3)
    res = cli_json("new", "sound_bank", "sfx/boom", str(wav), cwd=game)
    assert res["affected_assets"] == [{"asset_id": 4, "root": "sfx/boom"}]
    reg = check_registry(game)
    assert [e["asset_id"] for e in reg["assets"]] == [1, 4]
    assert reg["next_asset_id"] == 5
    assert registered(reg, 4)["asset_uuid"] not in (hud_uuid, jump_uuid)

    # what the user built is packable
    res = cli_json("validate", cwd=game)
    assert res["green"] is True and res["assets"] == []


def test_ids_survive_removing_every_asset(game: Path) -> None:
    """The allocator lives in the registry: an empty registry still remembers issued ids."""
    cli_json("remove", "1", cwd=game)
    cli_json("remove", "2", cwd=game)
    reg = check_registry(game)
    assert reg["assets"] == [] and reg["next_asset_id"] == 3
    res = cli_json("register", "ui/hud", cwd=game)
    assert res["affected_assets"] == [{"asset_id": 3, "root": "ui/hud"}]
    assert check_registry(game)["next_asset_id"] == 4


def test_refusals_change_nothing(game: Path, tmp_path: Path) -> None:
    """Blocked mutations exit 1 with a diagnostic code and leave every file as it was."""
    before = (game / REGISTRY).read_bytes()
    refusals = [
        (["register", "ui/hud"], "asset.already_registered"),
        (["exclude", "99"], "asset.not_found"),
        (["relocate", "1", "sfx/jump", "--yes"], "asset.root_exists"),
        (["relocate", "1", "../outside", "--yes"], "path.escapes_root"),
        (["new", "glyph_bank", "ui/hud", "--tile-size", "16", "nope.png"], None),
    ]
    results = cli_json_all([tuple(args) for args, _ in refusals], cwd=game, code=1)
    for (args, code), res in zip(refusals, results, strict=True):
        assert res["status"] == "blocked", args
        assert res["blockers"], args
        if code is not None:
            assert code in {d["code"] for d in res["blockers"]}, (args, res["blockers"])
    assert (game / REGISTRY).read_bytes() == before
    assert not (tmp_path / "outside").exists() and not (game / "outside").exists()
    assert (game / "assets/ui/hud/heart.png").is_file()


# Discovery and addressing --------------------------------------------------------------------


def test_commands_find_the_project_from_a_subfolder(game: Path) -> None:
    deep = game / "assets/ui/hud"
    other = game / "docs/notes"
    other.mkdir(parents=True)

    rows = cli_json("list", cwd=deep)["assets"]
    assert {r["root"] for r in rows} == {"ui/hud", "sfx/jump"}

    cli_json("exclude", "ui/hud", cwd=other)
    assert registered(check_registry(game), 1)["included_in_build"] is False
    # a root typed with the assets/ prefix addresses the same asset
    cli_json("include", "assets/ui/hud", cwd=other)
    assert registered(check_registry(game), 1)["included_in_build"] is True


def test_project_option_and_no_project(game: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    (rc, out, err), *found = run_cli_each(
        [
            ("list", "--json"),
            ("--project", "../game", "list", "--json"),
            ("--project", str(game), "list", "--json"),
        ],
        cwd=elsewhere,
    )
    assert rc != 0 and "Traceback" not in out + err
    assert "no prometeu project" in err
    assert not (elsewhere / "assets").exists()
    for rc, out, err in found:
        assert rc == 0, err
        rows = json.loads(out)["assets"]
        assert {r["root"] for r in rows} == {"ui/hud", "sfx/jump"}
    cli_json("--project", "../game", "exclude", "2", cwd=elsewhere)
    assert registered(check_registry(game), 2)["included_in_build"] is False

    # init --project creates the registry there, not in the current folder
    fresh = tmp_path / "fresh"
    cli_json("--project", str(fresh), "init", cwd=elsewhere)
    assert (fresh / REGISTRY).read_bytes() == canonical(
        {"assets": [], "next_asset_id": 1, "schema_version": 1}
    )
    assert not (elsewhere / "assets").exists()


def test_show_by_id_and_by_root_with_input_sizes(game: Path) -> None:
    hud = game / "assets/ui/hud"
    by_id, by_root = cli_json_all([("show", "1"), ("show", "ui/hud")], cwd=game)
    assert by_id["asset"] == by_root["asset"]
    asset = by_id["asset"]
    assert asset["asset_id"] == 1 and asset["root"] == "ui/hud"
    assert asset["asset_uuid"] == json.loads((hud / "asset.json").read_bytes())["asset_uuid"]
    assert asset["declaration"] == json.loads((hud / "asset.json").read_bytes())
    sizes = {i["file"]: (i["size"], i["exists"]) for i in asset["inputs"]}
    assert sizes == {
        "heart.png": ((hud / "heart.png").stat().st_size, True),
        "coin.png": ((hud / "coin.png").stat().st_size, True),
    }
    assert by_id["diagnostics"] == []

    # the human view shows the sizes too
    rc, out, _ = run_cli("show", "sfx/jump", cwd=game)
    assert rc == 0
    assert f"{(game / 'assets/sfx/jump/jump.wav').stat().st_size} B" in out

    # a missing input is reported with its size unknown
    (hud / "coin.png").unlink()
    res = cli_json("show", "ui/hud", cwd=game, code=1)
    assert res["status"] == "blocked" and res["asset"]["blocking"] is True
    coin = next(i for i in res["asset"]["inputs"] if i["file"] == "coin.png")
    assert coin == {"file": "coin.png", "roles": coin["roles"], "size": None, "exists": False}
    assert [(d["code"], d["path"]) for d in res["diagnostics"]] == [("input.missing", "coin.png")]

    res = cli_json("show", "42", cwd=game, code=1)
    assert res["diagnostics"][0]["code"] == "asset.not_found"


def test_schema_commands_print_json_schema(tmp_path: Path) -> None:
    asset_fields = {"schema_version", "asset_uuid", "name", "type", "inputs", "artifacts"}
    asset_fields |= {"output", "preload"}
    expected = {"asset": asset_fields, "registry": {"assets", "next_asset_id", "schema_version"}}
    results = run_cli_each(
        [("schema", "asset"), ("schema", "registry"), ("schema", "nonsense")], cwd=tmp_path
    )
    for which, (rc, out, err) in zip(("asset", "registry"), results, strict=False):
        assert rc == 0, err
        schema = json.loads(out)
        assert schema["type"] == "object"
        assert set(schema["properties"]) == expected[which] | {"$schema"}
    rc, _, err = results[2]
    assert rc == 2 and "Traceback" not in err
