"""Status tells the truth (issue 13): `show`, `list` and `new` say what `validate` says.

Real PNGs and WAVs, the real CLI, a fresh game folder; each check is what a person sees:
exit codes, codes in `--json`, files on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import checked_json as cli_json
from conftest import make_png, make_wav, run_cli

REGISTRY = Path("assets/.prometeu/index.json")


@pytest.fixture
def game(tmp_path: Path) -> Path:
    """An initialized game with one good glyph bank (ui/hud, asset 1); art in tmp/src."""
    src = tmp_path / "src"
    make_png(src / "heart.png", 16)
    make_png(src / "big.png", 64)
    make_png(src / "small.png", 8)
    many = [(i, (i * 7) % 256, 255 - i) for i in range(256)]
    make_png(src / "rainbow.png", 16, many)
    make_wav(src / "jump.wav")
    game = tmp_path / "game"
    game.mkdir()
    cli_json("init", cwd=game)
    cli_json("new", "glyph_bank", "ui/hud", "--tile-size", "16", str(src / "heart.png"), cwd=game)
    return game


def blocking_codes(result: dict[str, Any]) -> set[str]:
    return {d["code"] for d in result["diagnostics"] if d["blocking"]}


@pytest.mark.parametrize(
    ("art", "tile", "code"),
    [
        ("big.png", "16", "glyph.tile_dimensions"),
        ("heart.png", "8", "glyph.tile_dimensions"),
        ("rainbow.png", "16", "glyph.derived_palette_overflow"),
    ],
)
def test_new_refuses_what_would_block_the_pack(game: Path, art: str, tile: str, code: str) -> None:
    before = (game / REGISTRY).read_bytes()
    src = game.parent / "src" / art
    res = cli_json("new", "glyph_bank", "ui/bad", "--tile-size", tile, str(src), cwd=game, code=1)
    assert res["status"] == "blocked" and code in blocking_codes(res)
    assert "--force" in res["diagnostics"][0]["hint"]
    assert (game / REGISTRY).read_bytes() == before
    assert not (game / "assets/ui/bad").exists()

    # --force writes it; then show, list and validate all say the same thing
    res = cli_json(
        "new", "glyph_bank", "ui/bad", "--tile-size", tile, str(src), "--force", cwd=game
    )
    assert res["status"] == "success" and code in blocking_codes(res)
    assert res["asset"]["blocking"] is True
    validate = cli_json("validate", cwd=game, code=1)
    assert code in {d["code"] for d in validate["blockers"]}
    show = cli_json("show", "ui/bad", cwd=game, code=1)
    assert show["status"] == "blocked" and code in blocking_codes(show)
    assert show["asset"]["blocking"] is True and show["asset"]["checked"] is True
    rows = {r["root"]: r for r in cli_json("list", cwd=game)["assets"]}
    assert rows["ui/bad"]["blocking"] is True and code in rows["ui/bad"]["problems"]
    assert rows["ui/hud"]["blocking"] is False and rows["ui/hud"]["checked"] is True
    _rc, out, _ = run_cli("list", cwd=game)
    line = next(x for x in out.splitlines() if "ui/bad" in x)
    assert "blocked" in line and " ok" not in line


def test_show_and_list_see_an_edit_that_breaks_an_asset(game: Path) -> None:
    assert cli_json("show", "1", cwd=game)["asset"]["blocking"] is False
    make_png(game / "assets/ui/hud/heart.png", 64)  # replaced behind the packer's back
    show = cli_json("show", "1", cwd=game, code=1)
    assert "glyph.tile_dimensions" in blocking_codes(show)
    (row,) = cli_json("list", cwd=game)["assets"]
    assert row["blocking"] is True and row["problems"] == ["glyph.tile_dimensions"]
    # --quick says plainly that it did not look at the contents
    quick = cli_json("list", "--quick", cwd=game)
    assert quick["assets"][0]["checked"] is False
    assert "not checked" in quick["summary"]
    _rc, out, _ = run_cli("list", "--quick", cwd=game)
    assert "unchecked" in out


def test_usage_errors_of_new(game: Path) -> None:
    wav = str(game.parent / "src/jump.wav")
    rc, _out, err = run_cli("new", "sound_bank", "sfx/jump", "--tile-size", "8", wav, cwd=game)
    assert rc == 2 and "--tile-size" in err and "glyph_bank" in err
    rc, _out, err = run_cli("new", "glyph_bnk", "ui/x", wav, cwd=game)
    assert rc == 2 and "glyph_bank or sound_bank" in err and "['" not in err
    assert "did you mean glyph_bank" in err
    assert not (game / "assets/sfx").exists() and not (game / "assets/ui/x").exists()


def test_duplicate_names_read_as_words(game: Path, tmp_path: Path) -> None:
    a = make_png(tmp_path / "one/x.png", 16)
    b = make_png(tmp_path / "two/x.png", 16)
    res = cli_json("new", "glyph_bank", "ui/twice", str(a), str(b), cwd=game, code=1)
    message = res["diagnostics"][0]["message"]
    assert message == "several files are named x.png"


def test_no_such_asset_is_one_code_and_status_everywhere(game: Path) -> None:
    commands = [
        ("show", "ui/hdu"),
        ("explain", "ui/hdu"),
        ("exclude", "ui/hdu"),
        ("include", "ui/hdu"),
        ("relocate", "ui/hdu", "ui/other"),
        ("remove", "ui/hdu"),
        ("quarantine", "ui/hdu"),
    ]
    for args in commands:
        res = cli_json(*args, cwd=game, code=1)
        assert res["status"] == "blocked", args
        assert [d["code"] for d in res["blockers"]] == ["asset.not_found"], args
        assert "did you mean `ui/hud`?" in res["blockers"][0]["hint"], args
    rc, out, _err = run_cli("show", "ui/hdu", cwd=game)
    assert rc == 1 and "did you mean `ui/hud`?" in out


def test_quarantined_assets_are_listed_and_marked(game: Path) -> None:
    cli_json("quarantine", "ui/hud", "--yes", cwd=game)
    res = cli_json("list", cwd=game)
    (row,) = res["assets"]
    assert row["quarantined"] is True and row["root"] == "ui/hud" and row["asset_id"] == 1
    assert "1 quarantined" in res["summary"]
    rc, out, _ = run_cli("list", cwd=game)
    assert rc == 0 and "quarantine" in next(x for x in out.splitlines() if "ui/hud" in x)
