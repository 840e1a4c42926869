"""The registry is the source of identity, and the last internal errors (issue 12).

Each test drives the real CLI in this process (`run_cli`) on real files in tmp_path.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import STARTER, copy_project, run_cli

from packer_tasks.models.registry import Registry, RegistryEntry
from packer_tasks.workspace.registry_store import load_registry, registry_bytes

INDEX = Path("assets", ".prometeu", "index.json")


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err


# -- 1. a registry without its required keys is malformed, blocking and never written over


def test_registry_missing_required_keys_blocks_and_is_never_written(tmp_path: Path) -> None:
    game = copy_project(STARTER, tmp_path / "game")
    code, _out, err = run_cli("pack", cwd=game)
    assert code == 0, err
    build_before = _tree(game / "build")
    index = game / INDEX
    index.write_bytes(b'{"schema_version": 1}\n')
    original = index.read_bytes()

    code, out, err = run_cli("validate", "--json", cwd=game)
    assert code == 1, out
    assert "registry.schema" in out
    _no_traceback(err)

    code, out, err = run_cli("pack", cwd=game)
    assert code == 1, out
    assert "registry.schema" in out + err
    _no_traceback(err)
    assert _tree(game / "build") == build_before

    code, out, err = run_cli("register", "ui/hud_tiles", cwd=game)
    assert code == 1, out
    _no_traceback(err)

    for args in (("list",), ("doctor",), ("doctor", "--fix", "--yes")):
        code, out, err = run_cli(*args, cwd=game)
        _no_traceback(err)
    assert index.read_bytes() == original
    assert _tree(game / "build") == build_before


def test_registry_each_required_key_is_required(tmp_path: Path) -> None:
    game = copy_project(STARTER, tmp_path / "game")
    full = json.loads((game / INDEX).read_text("utf-8"))
    for key in ("assets", "next_asset_id", "schema_version"):
        data = {k: v for k, v in full.items() if k != key}
        (game / INDEX).write_text(json.dumps(data), "utf-8")
        code, out, err = run_cli("validate", cwd=game)
        assert code == 1, (key, out)
        _no_traceback(err)
    (game / INDEX).write_text("[]", "utf-8")
    code, out, err = run_cli("validate", cwd=game)
    assert code == 1 and "registry.schema" in out, out
    _no_traceback(err)


# -- 2. a large registry loads and is checked in linear time


def test_ten_thousand_entry_registry_loads(tmp_path: Path) -> None:
    n = 10_000
    registry = Registry(
        assets=[
            RegistryEntry(
                asset_id=i,
                asset_uuid=str(uuid.UUID(int=i, version=4)),
                included_in_build=i % 3 != 0,
                root=f"group{i % 50}/asset_{i}",
            )
            for i in range(1, n + 1)
        ],
        next_asset_id=n + 1,
        schema_version=1,
    )
    path = tmp_path / "index.json"
    path.write_bytes(registry_bytes(registry))
    started = time.perf_counter()
    loaded, diagnostics = load_registry(path)
    elapsed = time.perf_counter() - started
    assert loaded is not None and len(loaded.assets) == n
    assert diagnostics == [], diagnostics
    assert loaded.by_id(n) is not None and loaded.by_root("group0/asset_50") is not None
    assert loaded.by_uuid(str(uuid.UUID(int=7, version=4))) is not None
    print(f"10,000-entry registry: load + checks {elapsed:.3f} s")


# -- 3. a canonical .pa with hostile sound metadata is a finding, never a crash


def _rewrite_header(pa: bytes, change: Any) -> bytes:
    magic, version, flags, reserved, header_len, payload_offset = struct.unpack_from("<4sIIIII", pa)
    header = json.loads(pa[24 : 24 + header_len])
    change(header)
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = text.encode("utf-8")
    offset = (24 + len(raw) + 15) // 16 * 16
    prelude = struct.pack("<4sIIIII", magic, version, flags, reserved, len(raw), offset)
    return prelude + raw + bytes(offset - 24 - len(raw)) + pa[payload_offset:]


def _packed_starter(tmp_path: Path) -> bytes:
    game = copy_project(STARTER, tmp_path / "game")
    code, _out, err = run_cli("pack", cwd=game)
    assert code == 0, err
    return (game / "build" / "assets.pa").read_bytes()


def _sound_entry(header: dict[str, Any]) -> dict[str, Any]:
    return next(
        e
        for e in header["asset_table"]
        if e["bank_type"] == "SOUNDS" and len(e["metadata"]["samples"]) >= 3
    )


def test_hostile_sound_metadata_is_a_finding_for_inspect_and_extract(tmp_path: Path) -> None:
    pa = _packed_starter(tmp_path)

    def hostile(header: dict[str, Any]) -> None:
        samples = _sound_entry(header)["metadata"]["samples"]
        samples["0"] = [1, 2]
        samples["1"]["offset"] = "0"
        samples["2"]["sample_rate"] = 2**40

    bad = tmp_path / "hostile.pa"
    bad.write_bytes(_rewrite_header(pa, hostile))
    for extra in ((), ("--extract", str(tmp_path / "out"))):
        code, out, err = run_cli("inspect", *extra, str(bad), "--json", cwd=tmp_path)
        assert code == 1, (extra, out, err)
        _no_traceback(err)
        codes = {d["code"] for d in json.loads(out)["diagnostics"]}
        assert "pa.bad_metadata" in codes, codes


def test_each_hostile_metadata_value_is_reported(tmp_path: Path) -> None:
    pa = _packed_starter(tmp_path)

    def sound(key: str, field: str, value: Any) -> Any:
        def change(header: dict[str, Any]) -> None:
            _sound_entry(header)["metadata"]["samples"][key][field] = value

        return change

    def glyph(field: str, value: Any) -> Any:
        def change(header: dict[str, Any]) -> None:
            entry = next(e for e in header["asset_table"] if e["bank_type"] == "GLYPH")
            entry["metadata"][field] = value

        return change

    cases = {
        "offset string": sound("1", "offset", "0"),
        "offset odd": sound("1", "offset", 1),
        "offset past payload": sound("1", "offset", 10**9),
        "rate huge": sound("2", "sample_rate", 2**40),
        "frames too many": sound("0", "frames", 10**9),
        "frames bool": sound("0", "frames", True),
        "loop reversed": sound("0", "loop_start", 5),
        "tile_size": glyph("tile_size", 12),
        "tile_count": glyph("tile_count", 5000),
        "width": glyph("width", "256"),
    }
    for name, change in cases.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.pa"
        bad.write_bytes(_rewrite_header(pa, change))
        for extra in ((), ("--extract", str(tmp_path / "out" / bad.stem))):
            code, out, err = run_cli("inspect", *extra, str(bad), "--json", cwd=tmp_path)
            assert code == 1, (name, extra, out, err)
            _no_traceback(err)
            codes = {d["code"] for d in json.loads(out)["diagnostics"]}
            assert "pa.bad_metadata" in codes, (name, codes)


def test_real_pack_passes_the_metadata_checks_and_extracts(tmp_path: Path) -> None:
    game = copy_project(STARTER, tmp_path / "game")
    assert run_cli("pack", cwd=game)[0] == 0
    code, out, err = run_cli("inspect", "--extract", str(tmp_path / "x"), "--json", cwd=game)
    assert code == 0, (out, err)
    assert json.loads(out)["extracted"]


# -- 4. a 300-character root component is a diagnostic for doctor, not an OSError


def _long_root_project(tmp_path: Path) -> Path:
    game = copy_project(STARTER, tmp_path / "game")
    data = json.loads((game / INDEX).read_text("utf-8"))
    data["assets"][0]["root"] = "x" * 300
    (game / INDEX).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    return game


def test_validate_and_list_handle_a_300_character_root_component(tmp_path: Path) -> None:
    game = _long_root_project(tmp_path)
    for args in (("validate",), ("list",), ("show", "1")):
        code, out, err = run_cli(*args, "--json", cwd=game)
        _no_traceback(err)
        assert code in (0, 1), (args, out, err)
    assert run_cli("validate", cwd=game)[0] == 1


def test_doctor_handles_a_300_character_root_component(tmp_path: Path) -> None:
    game = _long_root_project(tmp_path)
    for args in (("doctor",), ("doctor", "--workspace"), ("doctor", "--fix")):
        code, out, err = run_cli(*args, "--json", cwd=game)
        _no_traceback(err)
        assert code == 1, (args, out, err)
        assert json.loads(out)["diagnostics"], out


def test_fast_canonical_spelling_matches_pretty() -> None:
    """`registry_bytes` spells the canonical form by hand; it must equal `pretty`'s."""
    from packer_tasks.canonical_json import pretty

    entries = [
        RegistryEntry(asset_id=3, asset_uuid='q"\\\x01\x7f', included_in_build=False, root="é/\t"),
        RegistryEntry(asset_id=1, asset_uuid="\u2028\U0001f600", included_in_build=True, root="a"),
    ]
    for registry in (Registry(), Registry(assets=entries, next_asset_id=9, schema_version=1)):
        data = registry.model_dump(mode="json")
        data["assets"].sort(key=lambda e: e["asset_id"])
        assert registry_bytes(registry) == pretty(data)


def test_registry_lookups_follow_copies() -> None:
    """The O(1) lookup index never answers for another registry's entries."""
    registry, first = Registry().allocate("u1", "a")
    grown, second = registry.allocate("u2", "b")
    assert grown.by_root("b") is not None and registry.by_root("b") is None
    shrunk = grown.without(first)
    assert shrunk.by_id(first) is None and grown.by_id(first) is not None
    assert shrunk.by_uuid("u2") is not None and shrunk.by_id(second) is not None
    assert shrunk == Registry.model_validate(shrunk.model_dump()) and shrunk != grown
