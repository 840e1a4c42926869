"""`schema` for editors (issue 13): a precise JSON Schema per family, and `$schema` keys
accepted (and kept) in asset.json and the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import make_png, run_cli


def schema_of(*args: str, cwd: Path) -> dict[str, Any]:
    rc, out, err = run_cli("schema", *args, cwd=cwd)
    assert rc == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def walk_properties(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every (path, schema) of a named property, at any depth."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            found.append((f"{where}.{name}", sub))
        for key, value in node.items():
            found += walk_properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += walk_properties(value, f"{where}[{i}]")
    return found


def test_asset_schema_is_precise(tmp_path: Path) -> None:
    full = schema_of("asset", cwd=tmp_path)
    assert full["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert full["$id"].startswith("urn:prometeu-packer:schema:asset")
    assert full["properties"]["type"]["enum"] == ["glyph_bank", "sound_bank"]
    assert full["additionalProperties"] is False
    slot = full["properties"]["preload"]["properties"]["slot"]
    assert (slot["minimum"], slot["maximum"]) == (0, 15)
    missing = [path for path, sub in walk_properties(full) if "description" not in sub]
    assert missing == [], missing

    glyph = schema_of("asset", "--family", "glyph_bank", cwd=tmp_path)
    assert glyph["properties"]["type"]["enum"] == ["glyph_bank"]
    output = glyph["allOf"][0]["then"]["properties"]["output"]["properties"]
    assert output["metadata"]["properties"]["tile_size"]["enum"] == [8, 16, 32]
    assert output["format"]["const"] == "GLYPH/indexed_v1"
    assert output["codec"]["enum"] == ["NONE"]
    palettes = output["pipeline"]["properties"]["palettes"]
    assert palettes["maxItems"] == 64
    assert palettes["items"]["properties"]["palette"]["properties"]["colors"]["maxItems"] == 16
    sound = schema_of("asset", "--family", "sound_bank", cwd=tmp_path)
    then = sound["allOf"][0]["then"]["properties"]
    assert then["output"]["properties"]["format"]["const"] == "SOUNDS/pcm16le_v1"
    assert "loop_start" in then["artifacts"]["items"]["properties"]

    registry = schema_of("registry", cwd=tmp_path)
    assert registry["$id"].startswith("urn:prometeu-packer:schema:registry")
    assert [p for p, sub in walk_properties(registry) if "description" not in sub] == []
    assert run_cli("schema", "registry", "--family", "glyph_bank", cwd=tmp_path)[0] == 2


def test_dollar_schema_is_accepted_and_kept(tmp_path: Path) -> None:
    game = tmp_path / "game"
    game.mkdir()
    assert run_cli("init", cwd=game)[0] == 0
    make_png(game / "assets/ui/hud/a.png", 16)
    assert run_cli("adopt", "ui/hud", cwd=game)[0] == 0

    decl_path = game / "assets/ui/hud/asset.json"
    decl = json.loads(decl_path.read_text())
    decl["$schema"] = "../../../.vscode/asset.schema.json"
    decl_path.write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")
    registry_path = game / "assets/.prometeu/index.json"
    registry = json.loads(registry_path.read_text())
    registry["$schema"] = "../../.vscode/registry.schema.json"
    registry_path.write_text(json.dumps(registry, indent=2, sort_keys=True) + "\n")

    rc, out, err = run_cli("validate", "--json", cwd=game)
    assert rc == 0, out + err
    rc, out, _ = run_cli("doctor", "--json", cwd=game)
    codes = {d["code"] for d in json.loads(out)["diagnostics"]}
    assert "registry.not_canonical" not in codes and "declaration.schema" not in codes
    # mutations keep the key
    assert run_cli("set", "ui/hud", "preload", "on", "--yes", cwd=game)[0] == 0
    assert run_cli("exclude", "1", cwd=game)[0] == 0
    assert json.loads(decl_path.read_text())["$schema"] == "../../../.vscode/asset.schema.json"
    assert json.loads(registry_path.read_text())["$schema"] == "../../.vscode/registry.schema.json"
    # and `json_schema`, the attribute's name, is no key of the file
    decl = json.loads(decl_path.read_text())
    decl["json_schema"] = "x"
    decl_path.write_text(json.dumps(decl))
    rc, out, _ = run_cli("show", "1", "--json", cwd=game)
    assert "declaration.schema" in {d["code"] for d in json.loads(out)["diagnostics"]}
