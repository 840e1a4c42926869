"""The content-addressed cache through real `doit pack` runs on real files.

CI reuse (cache restored into another folder), a shared cache directory, a 200-asset
project where one edit re-materializes exactly one asset, damaged cache and doit state that
still give correct bytes, `explain`, and the cache maintenance commands.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from test_doit_support import (
    STARTER,
    base_env,
    build_bytes,
    copy_project,
    events,
    hex_rgb,
    kinds,
    make_glyph_project,
    read_json,
    repaint,
    run_doit,
    run_packer,
    write_json,
)

ALL_MISSES = {"packed": 5, "hits": 0, "misses": 5, "up": 0}
ALL_HITS = {"packed": 5, "hits": 5, "misses": 0, "up": 0}
UP_TO_DATE = {"packed": 5, "hits": 0, "misses": 0, "up": 5}


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """The starter built once from scratch: its folder (with cache, doit state, build/)
    and the reference bytes of build/."""
    project = copy_project(STARTER, tmp_path_factory.mktemp("seed") / "starter")
    assert run_doit(project).counts() == ALL_MISSES
    return project, build_bytes(project)


@pytest.fixture(scope="module")
def edited_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A clean full build of the starter with `_edit_heart` applied."""
    project = copy_project(STARTER, tmp_path_factory.mktemp("edited") / "starter")
    _edit_heart(project)
    assert run_doit(project).counts() == ALL_MISSES
    return build_bytes(project)


def _value_files(cache_dir: Path) -> list[Path]:
    files = sorted(cache_dir.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.val"))
    assert files, f"no value files under {cache_dir}"
    return files


def _edit_heart(project: Path) -> None:
    hud = project / "assets" / "ui" / "hud_icons"
    colors = read_json(hud / "asset.json")["output"]["pipeline"]["palettes"][0]["palette"]
    repaint(hud / "heart.png", [(1, 1), (2, 1)], (*hex_rgb(colors["colors"][6]), 255))


# -- CI reuse ---------------------------------------------------------------------------


def test_restored_cache_in_a_new_folder_gives_only_hits(
    seed: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    project, reference = seed
    ci = copy_project(project, tmp_path / "runner" / "checkout", keep=[".prometeu-cache"])
    assert (ci / ".prometeu-cache" / "cache.db").is_file()
    assert not (ci / "build").exists() and not (ci / ".doit.db").exists()
    assert not list((ci / "assets" / ".prometeu").glob(".digests.sqlite*"))

    first = run_doit(ci)
    assert first.counts() == ALL_HITS, first.output
    assert "packed 5 asset(s): 5 cache hit(s), 0 miss(es)" in first.summary_line()
    assert build_bytes(ci) == reference
    assert run_doit(ci).counts() == UP_TO_DATE


def test_shared_cache_from_the_environment(
    seed: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    _, reference = seed
    shared = tmp_path / "shared-cache"
    env = base_env(PROMETEU_PACKER_CACHE=str(shared))
    one = copy_project(STARTER, tmp_path / "one")
    two = copy_project(STARTER, tmp_path / "elsewhere" / "two")

    assert run_doit(one, env=env).counts() == ALL_MISSES
    assert (shared / "cache.db").is_file()
    assert not (one / ".prometeu-cache").exists()

    second = run_doit(two, env=env)
    assert second.counts() == ALL_HITS, second.output
    assert not (two / ".prometeu-cache").exists()
    assert build_bytes(one) == build_bytes(two) == reference

    stats = json.loads(run_packer(two, "cache", "stats", "--json", env=env).stdout)
    assert stats["directory"] == str(shared) and stats["entries"] == 5


def test_cache_dir_from_pyproject(seed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    _, reference = seed
    projects = [copy_project(STARTER, tmp_path / name) for name in ("a", "b")]
    for project in projects:
        (project / "pyproject.toml").write_text(
            '[tool.prometeu-packer]\ncache-dir = "../ci-cache"\n', encoding="utf-8"
        )
    assert run_doit(projects[0]).counts() == ALL_MISSES
    assert (tmp_path / "ci-cache" / "cache.db").is_file()
    assert run_doit(projects[1]).counts() == ALL_HITS
    assert build_bytes(projects[1]) == reference
    assert not any((p / ".prometeu-cache").exists() for p in projects)


# -- scale ------------------------------------------------------------------------------


def test_two_hundred_assets_one_edit_rematerializes_one(tmp_path: Path) -> None:
    project = make_glyph_project(tmp_path / "big", 200)
    log = tmp_path / "events.jsonl"
    env = base_env(PROMETEU_PACKER_EVENTS=str(log))

    first = run_doit(project, env=env)
    assert first.counts() == {"packed": 200, "hits": 0, "misses": 200, "up": 0}
    assert len(kinds(events(log), "cache_miss")) == 200

    edited = project / "assets" / "g" / "bank_0123" / "tile.png"
    with_colour = read_first_pixel(edited)
    repaint(edited, [(3, 3), (4, 4)], with_colour)  # a colour the tile already uses
    second = run_doit(project, env=env)
    assert second.counts() == {"packed": 200, "hits": 0, "misses": 1, "up": 199}, second.output
    evts = events(log)
    misses = kinds(evts, "cache_miss")
    assert len(misses) == 1 and not kinds(evts, "cache_hit")
    assert misses[0]["affected_assets"] == [{"asset_id": 124, "root": "g/bank_0123"}]
    assert [e["kind"] for e in evts if e["kind"].startswith("build_")] == [
        "build_started",
        "build_finished",
    ]
    seqs = [e["sequence"] for e in evts]
    assert seqs == list(range(1, len(evts) + 1))
    assert len({e["operation_id"] for e in evts}) == 1

    clean = copy_project(project, tmp_path / "clean")
    assert run_doit(clean).counts()["misses"] == 200
    assert build_bytes(clean) == build_bytes(project)


def read_first_pixel(png: Path) -> tuple[int, ...]:
    from PIL import Image

    with Image.open(png) as img:
        pixel = img.convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


# -- damaged cache ------------------------------------------------------------------------


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for at in (len(data) // 2, len(data) - 1):
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(cache_dir: Path, how: str) -> None:
    if how == "flipped-values":
        for f in _value_files(cache_dir):
            _flip(f)
    elif how == "truncated-values":
        for f in _value_files(cache_dir):
            _truncate(f)
    elif how == "one-flipped-value":
        _flip(_value_files(cache_dir)[0])
    elif how == "deleted-db":
        (cache_dir / "cache.db").unlink()
    elif how == "garbage-db":
        (cache_dir / "cache.db").write_bytes(b"\x00garbage, not sqlite\xff" * 512)
    elif how == "empty-db":
        (cache_dir / "cache.db").write_bytes(b"")
    else:  # pragma: no cover - a typo in the parametrization
        raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "expected_hits"),
    [
        ("flipped-values", 0),
        ("truncated-values", 0),
        ("one-flipped-value", 4),
        ("deleted-db", 0),
        ("garbage-db", 0),
        ("empty-db", 0),
    ],
)
def test_damaged_cache_still_builds_the_right_bytes(
    seed: tuple[Path, dict[str, bytes]], tmp_path: Path, how: str, expected_hits: int
) -> None:
    project, reference = seed
    ci = copy_project(project, tmp_path / "ci", keep=[".prometeu-cache"])
    _corrupt(ci / ".prometeu-cache", how)
    log = tmp_path / "events.jsonl"

    run = run_doit(ci, env=base_env(PROMETEU_PACKER_EVENTS=str(log)))
    expected_misses = 5 - expected_hits
    assert run.counts() == {
        "packed": 5,
        "hits": expected_hits,
        "misses": expected_misses,
        "up": 0,
    }, run.output
    assert build_bytes(ci) == reference
    misses = kinds(events(log), "cache_miss")
    assert len(misses) == expected_misses
    if how.endswith("values"):
        # Damaged entries are evicted and the event says so.
        assert all(m["data"]["evicted_corrupt"] for m in misses), misses
        assert all("corrupt" in m["summary"] for m in misses), misses

    # The run repaired the cache: another checkout restoring it now gets only hits.
    again = copy_project(ci, tmp_path / "ci2", keep=[".prometeu-cache"])
    assert run_doit(again).counts() == ALL_HITS
    assert build_bytes(again) == reference


# -- damaged doit state ---------------------------------------------------------------------


def _garbage_db(db: Path) -> None:
    db.write_bytes(b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 1024)


def _set_row(db: Path, text: str) -> None:
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(
            "UPDATE doit SET task_data = ? WHERE task_id = 'pack:assemble'", (text,)
        )
        assert cursor.rowcount == 1
    conn.close()


def test_copied_doit_state_stays_valid(seed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    """The baseline the damage tests start from: copied state (mtimes kept) is up to date."""
    project, reference = seed
    work = copy_project(project, tmp_path / "work", keep=[".prometeu-cache", "build", ".doit.db"])
    run = run_doit(work)
    assert run.counts() == UP_TO_DATE, run.output
    assert "doit.db.corrupt" not in run.output
    assert build_bytes(work) == reference


@pytest.mark.parametrize(
    "damage",
    [
        _garbage_db,
        lambda db: _set_row(db, '{"checker:": "Blake3Checker", "assets/ui'),
        lambda db: _set_row(db, "[1, 2, 3]"),
        lambda db: _set_row(db, '{"_values_:": 7, "deps:": 5}'),
    ],
    ids=["garbage-bytes", "corrupt-json-row", "json-list-row", "wrong-shaped-row"],
)
def test_damaged_doit_state_costs_a_rehash_not_a_wrong_build(
    seed: tuple[Path, dict[str, bytes]],
    edited_reference: dict[str, bytes],
    tmp_path: Path,
    damage: object,
) -> None:
    project, _ = seed
    work = copy_project(project, tmp_path / "work", keep=[".prometeu-cache", "build", ".doit.db"])
    assert callable(damage)
    damage(work / ".doit.db")
    _edit_heart(work)  # a change the lost state must not hide

    run = run_doit(work)
    assert "moved to .doit.db.corrupt" in run.stderr, run.output
    # The unchanged assets keep their bytes from the previous build in build/.
    assert run.counts() == {"packed": 5, "hits": 0, "misses": 1, "up": 4}, run.output
    assert build_bytes(work) == edited_reference
    assert run_doit(work).counts() == UP_TO_DATE


def test_damaged_digest_memo_is_replaced(
    seed: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    project, reference = seed
    work = copy_project(project, tmp_path / "work", keep=[".prometeu-cache"])
    memo = work / "assets" / ".prometeu" / ".digests.sqlite"
    memo.write_bytes(b"not a database at all " * 300)
    time.sleep(2.1)  # let the copied files age past the racy window, so digests persist
    run = run_doit(work)
    assert run.counts() == ALL_HITS, run.output
    assert build_bytes(work) == reference
    with sqlite3.connect(memo) as conn:
        assert conn.execute("SELECT count(*) FROM digests").fetchone()[0] > 0
    conn.close()


# -- explain and cache maintenance ------------------------------------------------------------


def _explain(project: Path, ref: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_packer(project, "explain", ref, "--json").stdout)
    return result


def test_explain_names_what_changed(seed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    project, _ = seed
    work = copy_project(project, tmp_path / "work", keep=[".prometeu-cache", "build", ".doit.db"])

    unchanged = _explain(work, "1")
    assert unchanged["would_rebuild"] is False and unchanged["changes"] == []
    assert "up to date" in str(unchanged["summary"])

    _edit_heart(work)
    edited = _explain(work, "ui/hud_icons")
    assert edited["would_rebuild"] is True
    assert edited["changes"] == ["content of heart.png changed"]
    assert "content of heart.png changed" in run_packer(work, "explain", "1").stdout

    music = work / "assets" / "music" / "loop" / "asset.json"
    decl = read_json(music)
    decl["artifacts"][0]["loop_start"] = 321
    write_json(music, decl)
    looped = _explain(work, "5")
    assert looped["would_rebuild"] is True
    assert any("loop_start" in c for c in looped["changes"]), looped
    assert not any("loop_end" in c for c in looped["changes"]), looped

    # Pipeline data that affects bytes: one more palette colour (no pixel uses it yet).
    hud = work / "assets" / "ui" / "hud_icons" / "asset.json"
    decl = read_json(hud)
    decl["output"]["pipeline"]["palettes"][0]["palette"]["colors"].append("#102030")
    write_json(hud, decl)
    repainted = _explain(work, "1")
    assert repainted["would_rebuild"] is True
    assert "content of heart.png changed" in repainted["changes"]
    assert any(c.startswith("output.pipeline.palettes[0]") for c in repainted["changes"])

    # After packing, all are up to date again.
    assert run_doit(work).counts() == {"packed": 5, "hits": 0, "misses": 2, "up": 3}
    after = _explain(work, "ui/hud_icons")
    assert after["would_rebuild"] is False and after["changes"] == [], after


def test_cache_maintenance_commands(seed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    project, reference = seed
    work = copy_project(project, tmp_path / "work", keep=[".prometeu-cache"])
    cache_dir = work / ".prometeu-cache"

    def cache(*args: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(run_packer(work, "cache", *args, "--json").stdout)
        assert result["status"] == "success", result
        return result

    stats = cache("stats")
    assert stats["entries"] == 5 and stats["volume_bytes"] > 5 * 34816
    assert stats["directory"] == str(cache_dir)

    assert cache("verify")["checked"] == 5
    _flip(_value_files(cache_dir)[0])
    verified = cache("verify")
    assert verified["checked"] == 5 and verified["evicted"] == 1
    assert verified["entries"] == 4

    pruned = cache("prune", "--max-size", "0")
    assert pruned["evicted"] == 4 and pruned["entries"] == 0

    assert run_doit(work).counts() == ALL_MISSES  # an empty cache: everything rebuilt
    assert build_bytes(work) == reference
    cleared = cache("clear")
    assert cleared["evicted"] == 5
    assert cache("stats")["entries"] == 0
    leftovers = list(cache_dir.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.val"))
    assert leftovers == []
