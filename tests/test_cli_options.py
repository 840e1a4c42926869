"""Global options and `--project` as a person types them (issue 13): before or after the
command, the command's value winning; a wrong `--project` is one clean line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import copy_project, run_cli

from packer_tasks.cli.options import GLOBAL_NAMES


@pytest.fixture
def game(starter_copy: Path) -> Path:
    return starter_copy


@pytest.mark.parametrize("where", ["missing", "assets", "assets/ui"])
def test_a_project_that_is_not_one_is_a_clean_usage_error(game: Path, where: str) -> None:
    target = game.parent / "nowhere" if where == "missing" else game / where
    for args in (("--project", target, "list"), ("list", "--project", target), ("validate",)):
        argv = args if args[0] != "validate" else ("--project", target, "validate")
        rc, out, err = run_cli(*argv, cwd=game.parent)
        assert rc == 2, (argv, out, err)
        assert out == "", "nothing is printed before the error"
        assert "no prometeu project" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    if where != "missing":
        assert f"pass --project {game}" in err
    assert not (target / "assets").exists()


def test_init_refuses_a_folder_inside_assets(game: Path) -> None:
    rc, _out, err = run_cli("--project", game / "assets/ui/new", "init", cwd=game)
    assert rc == 2 and "inside the assets/ folder" in err
    assert not (game / "assets/ui/new").exists()


def test_global_options_work_after_the_command(game: Path, tmp_path: Path) -> None:
    rc, out, err = run_cli("pack", "--events", "jsonl", "--cache-dir", tmp_path / "c", cwd=game)
    assert rc == 0, err
    kinds = [json.loads(line)["kind"] for line in out.splitlines()]
    assert kinds[0] == "build_started" and kinds[-1] == "build_finished"
    assert (tmp_path / "c").is_dir()

    # --no-cache after the command: everything materialized, nothing read from the cache
    (game / "build").rename(tmp_path / "old-build")
    rc, out, err = run_cli("pack", "--no-cache", "--json", "--cache-dir", tmp_path / "c", cwd=game)
    result = json.loads(out)
    assert rc == 0 and result["cache_hits"] == 0 and result["cache_misses"] == 5

    # sub-group commands take them too
    rc, out, _ = run_cli("cache", "stats", "--json", "--cache-dir", tmp_path / "c", cwd=game)
    assert rc == 0 and json.loads(out)["status"] == "success"


def test_the_value_after_the_command_wins(game: Path, tmp_path: Path) -> None:
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    other = copy_project(game, tmp_path / "other")
    rc, _out, err = run_cli(
        "--events", before, "--project", other, "validate", "--events", after, "--project", game
    )
    assert rc == 0, err
    assert not before.exists() and after.read_text().count("\n") > 0
    assert "validated" in after.read_text()


def test_every_command_lists_the_global_options() -> None:
    for command in ("pack", "list", "show", "doctor", "cache"):
        rc, out, _ = run_cli(command, "--help")
        assert rc == 0
        for name in ("--project", "--events", "--no-cache", "--remote-cache"):
            assert name in out, (command, name)
    assert "remote_cache_write" in GLOBAL_NAMES
