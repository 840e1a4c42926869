"""`doit pack` on a real copy of the starter project: incremental builds equal full builds.

Every step edits real files (PNG pixels, WAV lists, loop points, registry inclusion through
the CLI), runs a real `doit pack` subprocess and checks the summary line the packer's
reporter prints; the final build/ must equal, byte for byte, a clean full build of the same
final state in a fresh folder with no cache and no doit state.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps
from test_doit_support import (
    STARTER,
    asset_table,
    build_bytes,
    copy_project,
    hex_rgb,
    read_json,
    repaint,
    run_doit,
    run_packer,
    write_json,
)


def _ids(project: Path) -> list[int]:
    return [row["asset_id"] for row in asset_table(project)]


def test_full_and_incremental_builds_are_byte_identical(tmp_path: Path) -> None:
    work = copy_project(STARTER, tmp_path / "work")
    assets = work / "assets"

    first = run_doit(work)
    assert first.counts() == {"packed": 5, "hits": 0, "misses": 5, "up": 0}, first.output
    previous = build_bytes(work)
    assert _ids(work) == [1, 2, 3, 4, 5]

    def step(expected: dict[str, int]) -> dict[str, bytes]:
        nonlocal previous
        run = run_doit(work)
        assert run.counts() == expected, run.output
        current = build_bytes(work)
        assert current["assets.pa"] != previous["assets.pa"], "the edit changed nothing"
        previous = current
        return current

    # 1. Edit a PNG: repaint a few heart pixels with another colour of the declared palette.
    hud = assets / "ui" / "hud_icons"
    palette = read_json(hud / "asset.json")["output"]["pipeline"]["palettes"][0]
    gold = (*hex_rgb(palette["palette"]["colors"][5]), 255)
    repaint(hud / "heart.png", [(x, 0) for x in range(4)] + [(0, 1)], gold)
    step({"packed": 5, "hits": 0, "misses": 1, "up": 4})

    # 2. Add an input: a new hero frame (idle mirrored, same colours) appended at index 3.
    hero = assets / "chars" / "hero_32"
    with Image.open(hero / "idle.png") as idle:
        ImageOps.mirror(idle.convert("RGB")).save(hero / "walk_c.png", format="PNG")
    decl = read_json(hero / "asset.json")
    decl["inputs"]["tiles"].append("walk_c.png")
    decl["artifacts"].append({"index": 3, "file": "walk_c.png"})
    write_json(hero / "asset.json", decl)
    step({"packed": 5, "hits": 0, "misses": 1, "up": 4})
    hero_row = next(r for r in asset_table(work) if r["asset_id"] == 3)
    assert hero_row["metadata"]["tile_count"] == 4

    # 3. Remove an input: drop coin.wav from the sound bank and renumber (file stays on disk).
    sfx = assets / "sfx" / "basic"
    decl = read_json(sfx / "asset.json")
    decl["inputs"]["samples"].remove("coin.wav")
    decl["artifacts"] = [
        {"index": i, "file": f} for i, f in enumerate(["jump.wav", "explosion.wav"])
    ]
    write_json(sfx / "asset.json", decl)
    step({"packed": 5, "hits": 0, "misses": 1, "up": 4})
    sfx_row = next(r for r in asset_table(work) if r["asset_id"] == 4)
    assert sorted(sfx_row["metadata"]["samples"]) == ["0", "1"]

    # 4. Change metadata: the music loop points.
    music = assets / "music" / "loop"
    decl = read_json(music / "asset.json")
    decl["artifacts"][0].update(loop_start=1000, loop_end=12000)
    write_json(music / "asset.json", decl)
    step({"packed": 5, "hits": 0, "misses": 1, "up": 4})
    loop_row = next(r for r in asset_table(work) if r["asset_id"] == 5)
    assert loop_row["metadata"]["samples"]["0"]["loop_start"] == 1000
    assert loop_row["metadata"]["samples"]["0"]["loop_end"] == 12000

    # 5. Exclude an asset through the CLI: nothing re-materializes, asset 3 leaves the table.
    run_packer(work, "exclude", "3")
    step({"packed": 4, "hits": 0, "misses": 0, "up": 4})
    assert _ids(work) == [1, 2, 4, 5]

    # 6. Include it again: its payload comes back from the cache, nothing is materialized.
    run_packer(work, "include", "3")
    run = run_doit(work)
    counts = run.counts()
    assert counts["packed"] == 5 and counts["misses"] == 0, run.output
    assert counts["hits"] + counts["up"] == 5, run.output
    assert _ids(work) == [1, 2, 3, 4, 5]
    previous = build_bytes(work)

    # 7. Exclude an asset, edit it while excluded, include it: it re-materializes once.
    run_packer(work, "exclude", "2")
    step({"packed": 4, "hits": 0, "misses": 0, "up": 4})
    repaint(assets / "world" / "tiles_8" / "ladder.png", [(0, 0), (1, 0)], (7,))
    run_packer(work, "include", "2")
    step({"packed": 5, "hits": 0, "misses": 1, "up": 4})

    # 8. Relocate an asset root through the CLI: its payload is keyed by content, not by
    # where it lives, so nothing re-materializes; only the tooling companion changes.
    run_packer(work, "relocate", "5", "audio/music_loop", "--yes")
    relocated = run_doit(work)
    counts = relocated.counts()
    assert counts["packed"] == 5 and counts["misses"] == 0, relocated.output
    moved = build_bytes(work)
    assert moved["assets.pa"] == previous["assets.pa"]
    assert moved["asset_table_metadata.json"] != previous["asset_table_metadata.json"]
    assert b'"audio/music_loop"' in moved["asset_table_metadata.json"]
    previous = moved

    # A no-op run changes nothing and says so.
    noop = run_doit(work)
    assert noop.counts() == {"packed": 5, "hits": 0, "misses": 0, "up": 5}, noop.output
    assert noop.summary_line().startswith("build/assets.pa is up to date: 5 asset(s)")
    incremental = build_bytes(work)
    assert incremental == previous

    # The same final state, built from scratch in another folder: identical bytes.
    clean = copy_project(work, tmp_path / "clean")
    assert not (clean / ".prometeu-cache").exists() and not (clean / ".doit.db").exists()
    full = run_doit(clean)
    assert full.counts() == {"packed": 5, "hits": 0, "misses": 5, "up": 0}, full.output
    assert build_bytes(clean) == incremental
