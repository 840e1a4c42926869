"""`doctor` on a project seeded with one instance of every SPEC §7 case.

Each case is built from real PNG/WAV files, and doctor must report exactly the expected
code, on the expected asset, with the expected blocking flag, and nothing else. `validate`
must block exactly the assets doctor calls blocking, and `pack` must leave build/ alone.
"""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import make_png, make_wav

from packer_tasks.canonical_json import pretty
from packer_tasks.cli import cli
from packer_tasks.doctor.catalog import CATALOG

BIG = 1024 * 1024 + 512 * 1024


class Seed:
    """Writes a project file by file: unique real inputs, asset.json, registry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.assets = root / "assets"
        self.entries: list[dict[str, Any]] = []
        self.ids: dict[str, int] = {}
        self._color = 0

    def color(self) -> tuple[int, int, int]:
        """A colour no other seeded file uses, so no two files share bytes by accident."""
        self._color += 1
        k = self._color
        return (50 + k % 200, 255 - (k * 3) % 200, 128 + (k * 7) % 100)

    def png(self, root: str, rel: str, size: int = 16) -> str:
        make_png(self.assets / root / rel, size, [(0, 0, 0), self.color()])
        return rel

    def wav(self, root: str, rel: str) -> str:
        k = self._color = self._color + 1
        make_wav(self.assets / root / rel, frames=32 + k)
        return rel

    def float_wav(self, root: str, rel: str) -> str:
        data = struct.pack("<8f", *[0.1 * i for i in range(8)])
        fmt = struct.pack("<HHIIHH", 3, 1, 22050, 22050 * 4, 4, 32)
        body = (
            b"WAVE"
            + b"fmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + b"data"
            + struct.pack("<I", len(data))
            + data
        )
        path = self.assets / root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
        return rel

    def decl(
        self,
        root: str,
        family: str,
        files: list[str],
        *,
        indices: list[int] | None = None,
        tile_size: int = 16,
        slot: int | None = None,
        **output: Any,
    ) -> dict[str, Any]:
        glyph = family == "glyph_bank"
        preload: dict[str, Any] = {"enabled": slot is not None}
        if slot is not None:
            preload["slot"] = slot
        return {
            "schema_version": 1,
            "asset_uuid": str(uuid.uuid4()),
            "name": root.rsplit("/", 1)[-1],
            "type": family,
            "inputs": {"tiles" if glyph else "samples": list(dict.fromkeys(files))},
            "artifacts": [
                {"index": i, "file": f}
                for i, f in zip(indices or range(len(files)), files, strict=True)
            ],
            "output": {
                "format": "GLYPH/indexed_v1" if glyph else "SOUNDS/pcm16le_v1",
                "codec": "NONE",
                "metadata": {"tile_size": tile_size, **output.get("metadata", {})} if glyph else {},
                "pipeline": output.get("pipeline", {}),
            },
            "preload": preload,
        }

    def write(
        self,
        root: str,
        decl: dict[str, Any] | None = None,
        raw: bytes | None = None,
        *,
        register: bool = True,
        include: bool = True,
    ) -> None:
        folder = self.assets / root
        folder.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            (folder / "asset.json").write_bytes(raw)
        elif decl is not None:
            (folder / "asset.json").write_bytes(pretty(decl))
        if register:
            self.register(root, decl["asset_uuid"] if decl else str(uuid.uuid4()), include)

    def register(self, root: str, asset_uuid: str, include: bool = True) -> int:
        asset_id = len(self.entries) + 1
        self.entries.append(
            {
                "asset_id": asset_id,
                "asset_uuid": asset_uuid,
                "included_in_build": include,
                "root": root,
            }
        )
        self.ids[root] = asset_id
        return asset_id

    def save_registry(self, next_id: int | None = None) -> None:
        registry = {
            "assets": self.entries,
            "schema_version": 1,
            "next_asset_id": next_id or len(self.entries) + 1,
        }
        path = self.assets / ".prometeu" / "index.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pretty(registry))


def invoke(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--project", str(project), "--cache-dir", str(project.parent / "cache"), *args]
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def invoke_json(project: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out = invoke(project, *args, "--json")
    return code, json.loads(out)


def tree_digest(root: Path, *, packer_state: bool = True) -> dict[str, str]:
    """Every file under root with its sha256, the write-lane lock file aside; without
    `packer_state`, also without the digest memo (packer bookkeeping, not user files)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".write.lock")
        and (packer_state or not p.name.startswith((".digests.sqlite", ".build-manifest.json")))
    }


# (code, asset root or None, blocking) that doctor --workspace must report, nothing else.
Finding = tuple[str, str | None, bool]


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, list[Finding]]:
    project = tmp_path / "game"
    s = Seed(project)
    expected: list[Finding] = []

    def expect(code: str, root: str | None, blocking: bool) -> None:
        expected.append((code, root, blocking))

    # Healthy assets: no findings (one is the origin of the duplicate below).
    good = "good/tiles"
    s.write(good, s.decl(good, "glyph_bank", [s.png(good, "a.png"), s.png(good, "b.png")]))
    s.write("good/sounds", s.decl("good/sounds", "sound_bank", [s.wav("good/sounds", "s.wav")]))

    # Structural, blocking.
    s.register("broken/missing_root", str(uuid.uuid4()))
    expect("asset.root_missing", "broken/missing_root", True)
    s.png("broken/no_decl", "orphan.png")
    s.write("broken/no_decl")
    expect("declaration.missing", "broken/no_decl", True)
    s.write("broken/bad_json", raw=b'{"schema_version": 1, "name": ')
    s.entries[-1]["asset_uuid"] = str(uuid.uuid4())
    expect("declaration.invalid_json", "broken/bad_json", True)
    d = s.decl("broken/no_preload", "glyph_bank", [s.png("broken/no_preload", "t.png")])
    del d["preload"]
    s.write("broken/no_preload", d)
    expect("declaration.schema", "broken/no_preload", True)
    s.write("broken/missing_input", s.decl("broken/missing_input", "glyph_bank", ["gone.png"]))
    expect("input.missing", "broken/missing_input", True)
    s.write("broken/escape", s.decl("broken/escape", "glyph_bank", ["../outside.png"]))
    expect("path.escapes_root", "broken/escape", True)
    s.png("broken/backslash", "sub/t.png")
    s.write("broken/backslash", s.decl("broken/backslash", "glyph_bank", ["sub\\t.png"]))
    expect("path.backslash", "broken/backslash", True)
    r = "broken/gap"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "a.png"), s.png(r, "b.png")], indices=[0, 2]))
    expect("artifact.index_gap", r, True)
    r = "broken/dup_index"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "a.png"), s.png(r, "b.png")], indices=[0, 0]))
    expect("artifact.index_duplicate", r, True)
    r = "broken/tile_size"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "small.png", size=8)]))
    expect("glyph.tile_dimensions", r, True)
    r = "broken/colors"
    palette = {"palettes": [{"index": 0, "palette": {"colors": ["#000000"]}}]}
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "red.png")], pipeline=palette))
    expect("glyph.color_not_in_palette", r, True)
    r = "broken/capacity"
    s.write(
        r, s.decl(r, "glyph_bank", [s.png(r, f"t{i:02}.png", 32) for i in range(65)], tile_size=32)
    )
    expect("artifact.over_capacity", r, True)
    r = "broken/audio"
    s.write(r, s.decl(r, "sound_bank", [s.float_wav(r, "float.wav")]))
    expect("sound.not_pcm", r, True)
    for r in ("broken/preload_a", "broken/preload_b"):
        s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")], slot=3))
    expect("preload.slot_clash", "broken/preload_b", True)
    r = "broken/float"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")], metadata={"scale": 1.5}))
    expect("metadata.float", r, True)

    # Hygiene: advice only.
    r = "hygiene/dupe"
    (s.assets / r).mkdir(parents=True)
    (s.assets / r / "copy.png").write_bytes((s.assets / good / "a.png").read_bytes())
    s.write(r, s.decl(r, "glyph_bank", ["copy.png"]))
    expect("hygiene.duplicate_content", r, False)
    r = "hygiene/unused"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")]))
    (s.assets / r / "notes.txt").write_text("ideas\n")
    (s.assets / r / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256))
    expect("hygiene.unused_file", r, False)
    expect("hygiene.unused_large_file", r, False)
    r = "hygiene/naming"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "Heart Icon.png")]))
    expect("hygiene.naming", r, False)
    r = "hygiene/excluded"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")]), include=False)
    expect("hygiene.excluded_asset", r, False)
    r = "hygiene/excluded_broken"
    s.write(r, s.decl(r, "glyph_bank", ["gone.png"]), include=False)
    expect("hygiene.excluded_asset", r, False)
    expect("input.missing", r, False)
    for r in ("hygiene/outer", "hygiene/outer/inner"):
        s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")]))
    expect("hygiene.nested_root", "hygiene/outer/inner", False)
    r = "hygiene/unregistered"
    s.write(r, s.decl(r, "glyph_bank", [s.png(r, "t.png")]), register=False)
    expect("hygiene.unregistered_root", r, False)
    r = "hygiene/unregistered_broken"
    s.write(r, raw=b"[1, 2", register=False)
    expect("hygiene.unregistered_root", r, False)
    expect("declaration.invalid_json", r, False)
    (s.assets / "loose").mkdir()
    (s.assets / "loose" / "readme.txt").write_text("not an asset\n")
    expect("hygiene.stray_file", None, False)

    s.save_registry()
    return project, expected


def _found(result: dict[str, Any]) -> list[Finding]:
    return sorted((d["code"], d["asset_root"], d["blocking"]) for d in result["diagnostics"])


def test_workspace_doctor_reports_each_case_exactly(seeded: tuple[Path, list[Finding]]) -> None:
    project, expected = seeded
    code, result = invoke_json(project, "doctor", "--workspace")
    assert _found(result) == sorted(expected)
    assert code == 1 and result["blocking"] is True and result["status"] == "blocked"
    by_code = Counter(d["code"] for d in result["diagnostics"])
    assert all(code in CATALOG for code in by_code)
    for d in result["diagnostics"]:
        entry = CATALOG[d["code"]]
        assert d["severity"] == entry.severity.value
        if d["blocking"]:
            assert entry.blocking
        assert d["message"] and d["hint"], d
    fixes = {d["code"]: d["fix"] for d in result["diagnostics"] if d["fix"]}
    assert fixes == {
        "asset.root_missing": "drop_missing_entry",
        "declaration.schema": "add_preload_disabled",
        "path.backslash": "normalize_separators",
    }
    # Grouped by asset, with counts.
    reports = {r["root"]: r for r in result["assets"]}
    unused = reports["hygiene/unused"]
    assert (unused["errors"], unused["warnings"], unused["infos"]) == (0, 1, 1)
    assert reports["hygiene/unregistered"]["registered"] is False
    assert [d["code"] for d in result["project"]] == ["hygiene.stray_file"]
    assert result["counts"]["blocking"] == sum(blocking for _, _, blocking in expected)


def test_plain_doctor_checks_the_registered_world(seeded: tuple[Path, list[Finding]]) -> None:
    project, expected = seeded
    code, result = invoke_json(project, "doctor")
    unregistered = {"hygiene/unregistered", "hygiene/unregistered_broken", None}
    assert _found(result) == sorted(f for f in expected if f[1] not in unregistered)
    assert code == 1 and result["workspace"] is False


def test_validate_blocks_exactly_what_doctor_calls_blocking(
    seeded: tuple[Path, list[Finding]],
) -> None:
    project, _ = seeded
    _, doctor = invoke_json(project, "doctor", "--workspace")
    blocking_ids = {d["asset_id"] for d in doctor["diagnostics"] if d["blocking"]}
    code, validate = invoke_json(project, "validate")
    assert code == 1 and validate["green"] is False
    assert {row["asset_id"] for row in validate["assets"]} == blocking_ids
    assert sorted((d["code"], d["asset_root"]) for d in validate["blockers"]) == sorted(
        (d["code"], d["asset_root"]) for d in doctor["blockers"]
    )


def test_pack_refuses_and_leaves_build_untouched(seeded: tuple[Path, list[Finding]]) -> None:
    project, _ = seeded
    build = project / "build"
    build.mkdir()
    (build / "assets.pa").write_bytes(b"previous build")
    before = tree_digest(build)
    code, result = invoke_json(project, "pack")
    assert code == 1 and result["status"] == "blocked"
    assert tree_digest(build) == before


def test_human_output_groups_by_asset(seeded: tuple[Path, list[Finding]]) -> None:
    project, _ = seeded
    code, out = invoke(project, "doctor", "--workspace")
    assert code == 1
    assert "broken/colors (colors): 1 error, 0 warnings, 0 notes" in out
    assert "glyph.color_not_in_palette" in out and "red.png" in out
    assert "fix: normalize_separators" in out


def test_clean_starter_exits_zero(starter_copy: Path) -> None:
    code, result = invoke_json(starter_copy, "doctor")
    assert code == 0 and result["status"] == "success" and result["diagnostics"] == []
    code, result = invoke_json(starter_copy, "doctor", "--workspace")
    assert code == 0
    assert [d["code"] for d in result["diagnostics"]] == ["hygiene.unregistered_root"]
    assert [a["kind"] for a in result["proposed_actions"]] == ["adopt"]


def test_usage_errors_exit_two(starter_copy: Path) -> None:
    assert invoke(starter_copy, "doctor", "--yes")[0] == 2
    assert invoke(starter_copy, "doctor", "--catalog", "--fix")[0] == 2
    assert invoke(starter_copy, "doctor", "--bogus")[0] == 2


def test_registry_cases(tmp_path: Path) -> None:
    """Duplicate roots and uuids in the registry; then a registry that is not JSON at all."""
    project = tmp_path / "game"
    s = Seed(project)
    decl = s.decl("a", "glyph_bank", [s.png("a", "t.png")])
    s.write("a", decl)
    s.register("a", str(uuid.uuid4()))  # the same root twice
    (s.assets / "b").mkdir()
    for name in ("asset.json", "t.png"):  # a copied folder, same asset_uuid
        (s.assets / "b" / name).write_bytes((s.assets / "a" / name).read_bytes())
    s.register("b", decl["asset_uuid"])
    s.save_registry()
    code, result = invoke_json(project, "doctor", "--workspace")
    assert code == 1
    assert _found(result) == sorted(
        [
            ("registry.duplicate_root", "a", True),
            ("asset.uuid_mismatch", "a", True),
            ("registry.duplicate_uuid", "b", True),
            ("hygiene.duplicate_content", "b", False),
        ]
    )
    assert invoke(project, "validate")[0] == 1

    (s.assets / ".prometeu" / "index.json").write_text('{"assets": [')
    code, result = invoke_json(project, "doctor", "--workspace")
    assert code == 1
    assert _found(result) == [
        ("hygiene.duplicate_content", "b", False),
        ("registry.invalid_json", None, True),
    ]
    assert invoke(project, "validate")[0] == 1
    assert invoke(project, "pack")[0] == 1 and not (project / "build").exists()


def test_nested_roots_names_the_first_listed_outer_root() -> None:
    from packer_tasks.doctor.checks import ExaminedRoot, nested_roots
    from packer_tasks.models.registry import RegistryEntry
    from packer_tasks.workspace.declarations import LoadedAsset

    def examined(root: str, asset_id: int | None) -> ExaminedRoot:
        entry = None
        if asset_id is not None:
            entry = RegistryEntry(
                asset_id=asset_id,
                asset_uuid=str(uuid.UUID(int=asset_id)),
                included_in_build=True,
                root=root,
            )
        return ExaminedRoot(LoadedAsset(root, None, (), (), 0), entry)

    roots = [
        examined("ui/hud/icons", 1),
        examined("ui/hud", 2),
        examined("ui", 3),
        examined("ui/hud", None),  # the same folder again, found by the scan
        examined("ui/hudx", 4),  # a sibling sharing a prefix, not nested
        examined("sfx", 5),
    ]
    found = [(d.asset_root, d.message) for d in nested_roots(roots)]
    assert found == [
        ("ui/hud/icons", _nested("asset 1 (ui/hud/icons)", "asset 2 (ui/hud)")),
        ("ui/hud", _nested("asset 2 (ui/hud)", "asset 3 (ui)")),
        ("ui/hud", _nested("unregistered root ui/hud", "asset 3 (ui)")),
        ("ui/hudx", _nested("asset 4 (ui/hudx)", "asset 3 (ui)")),
    ]


def _nested(inner: str, outer: str) -> str:
    return f"{inner} lies inside {outer}; one asset folder should not hold another"
