"""Registry writes from many processes at once (SPEC §3, §9): the write lane serializes them.

Every command is a separate process running the packer CLI's `main` (`run_cli_parallel`
forks them from one interpreter that imported the CLI and releases them at the same instant,
so the writes really overlap); the registry must end up with every entry, distinct ids, a
persisted allocator and canonical bytes.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from conftest import glyph_decl, make_png, run_cli, run_cli_parallel

REGISTRY = Path("assets/.prometeu/index.json")
TIMEOUT = 120


def canonical(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode("utf-8")


def init_project(base: Path) -> Path:
    game = base / "game"
    game.mkdir()
    rc, out, err = run_cli("init", cwd=game)
    assert rc == 0, out + err
    return game


def load_registry(game: Path) -> dict[str, Any]:
    data = (game / REGISTRY).read_bytes()
    reg: dict[str, Any] = json.loads(data)
    assert data == canonical(reg), "registry is not canonical"
    ids = [e["asset_id"] for e in reg["assets"]]
    assert ids == sorted(ids), "entries are not sorted by asset_id"
    return reg


def test_twenty_concurrent_registers(tmp_path: Path) -> None:
    game = init_project(tmp_path)
    roots = {f"tiles/t{i:02d}": str(uuid.uuid4()) for i in range(20)}
    for root, asset_uuid in roots.items():
        folder = game / "assets" / root
        make_png(folder / "tile.png", 8)
        (folder / "asset.json").write_bytes(canonical(glyph_decl(asset_uuid, root[-3:])))

    results = run_cli_parallel(
        [("register", root, "--json") for root in roots], cwd=game, timeout=TIMEOUT
    )

    reported: dict[str, int] = {}
    for (rc, out, err), root in zip(results, roots, strict=True):
        assert rc == 0, f"register {root}: exit {rc}\n{out}\n{err}"
        assert "Traceback" not in out + err
        res = json.loads(out)
        assert res["status"] == "success"
        [ref] = res["affected_assets"]
        assert ref["root"] == root
        reported[root] = ref["asset_id"]
    assert sorted(reported.values()) == list(range(1, 21))

    reg = load_registry(game)
    assert reg["next_asset_id"] == 21
    assert len(reg["assets"]) == 20
    by_root = {e["root"]: e for e in reg["assets"]}
    assert set(by_root) == set(roots)
    for root, asset_uuid in roots.items():
        assert by_root[root] == {
            "asset_id": reported[root],
            "asset_uuid": asset_uuid,
            "included_in_build": True,
            "root": root,
        }
    # no stray temp files left next to the registry
    leftovers = sorted(p.name for p in (game / REGISTRY).parent.iterdir())
    assert [n for n in leftovers if n.endswith(".tmp")] == []

    # the CLI's own view agrees
    rc, out, _ = run_cli("list", "--json", cwd=game)
    assert rc == 0
    rows = json.loads(out)["assets"]
    assert sorted(r["asset_id"] for r in rows) == list(range(1, 21))
    assert all(r["registered"] and not r["blocking"] for r in rows)


def test_ten_concurrent_new(tmp_path: Path) -> None:
    game = init_project(tmp_path)
    srcs = [make_png(tmp_path / "src" / f"s{i}" / "tile.png", 8) for i in range(10)]
    roots = [f"hud/h{i}" for i in range(10)]
    results = run_cli_parallel(
        [
            ("new", "glyph_bank", root, "--tile-size", "8", str(src), "--json")
            for root, src in zip(roots, srcs, strict=True)
        ],
        cwd=game,
    )
    reported = {}
    for (rc, out, err), root in zip(results, roots, strict=True):
        assert rc == 0, f"new {root}: exit {rc}\n{out}\n{err}"
        assert "Traceback" not in out + err
        [ref] = json.loads(out)["affected_assets"]
        reported[ref["root"]] = ref["asset_id"]

    reg = load_registry(game)
    assert reg["next_asset_id"] == 11
    assert {e["root"]: e["asset_id"] for e in reg["assets"]} == reported
    assert sorted(reported.values()) == list(range(1, 11))
    assert sorted(reported) == sorted(roots)
    uuids = set()
    for e in reg["assets"]:
        folder = game / "assets" / e["root"]
        decl = json.loads((folder / "asset.json").read_bytes())
        assert decl["asset_uuid"] == e["asset_uuid"]
        uuids.add(e["asset_uuid"])
        assert (folder / "tile.png").read_bytes() == srcs[roots.index(e["root"])].read_bytes()
    assert len(uuids) == 10


def test_same_root_registered_by_five_processes_at_once(tmp_path: Path) -> None:
    """Check-then-write happens inside the lane: exactly one process wins, the rest refuse."""
    game = init_project(tmp_path)
    folder = game / "assets/solo"
    make_png(folder / "tile.png", 8)
    asset_uuid = str(uuid.uuid4())
    (folder / "asset.json").write_bytes(canonical(glyph_decl(asset_uuid, "solo")))

    results = run_cli_parallel([("register", "solo", "--json")] * 5, cwd=game, timeout=TIMEOUT)
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 1, 1, 1, 1], results
    for rc, out, err in results:
        assert "Traceback" not in out + err
        if rc == 1:
            res = json.loads(out)
            assert res["status"] == "blocked"
            assert [d["code"] for d in res["blockers"]] == ["asset.already_registered"]

    reg = load_registry(game)
    assert reg == {
        "assets": [
            {"asset_id": 1, "asset_uuid": asset_uuid, "included_in_build": True, "root": "solo"}
        ],
        "next_asset_id": 2,
        "schema_version": 1,
    }
