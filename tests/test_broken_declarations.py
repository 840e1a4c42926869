"""A workspace full of broken declarations (SPEC §3, §7): one clear blocking diagnostic each,
blocking exit codes where it matters, no traceback anywhere, and escaping files never opened.

Every escaping path (``..``, absolute, symlink) points at a FIFO outside the project: opening
it would block forever, so a command that opens it is caught by the timeout (``run_cli``
interrupts an in-process command after its timeout and reports ``TIMED OUT``).
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import glyph_decl, make_png, run_cli, run_cli_each

REGISTRY = Path("assets/.prometeu/index.json")
TIMEOUT = 120
GOOD_ROOT = "ok/good"


def canonical(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_registry(project: Path, data: bytes) -> None:
    (project / REGISTRY).parent.mkdir(parents=True, exist_ok=True)
    (project / REGISTRY).write_bytes(data)


def decl(asset_uuid: str | None = None, **changes: Any) -> dict[str, Any]:
    base = glyph_decl(asset_uuid or str(uuid.uuid4()), "tile", ("a.png",))
    base.update(changes)
    return base


def one_input(rel: str) -> dict[str, Any]:
    return {"inputs": {"tiles": [rel]}, "artifacts": [{"index": 0, "file": rel}]}


@dataclass(frozen=True)
class Case:
    root: str
    code: str
    body: Callable[[Path], bytes | dict[str, Any]]  # gets the FIFO outside the project
    path: str | None = None  # expected diagnostic `path`
    mentions: tuple[str, ...] = ()  # words the message must contain to be "clear"
    setup: Callable[[Path, Path], None] | None = None  # (root folder, fifo)


def _spliced(raw_value: str) -> bytes:
    """A valid declaration whose tile_size is replaced by raw (non-JSON-model) text."""
    text = canonical(decl()).decode()
    assert '"tile_size": 8' in text
    return text.replace('"tile_size": 8', f'"tile_size": {raw_value}').encode()


def _link_input(folder: Path, fifo: Path) -> None:
    os.symlink(fifo, folder / "link.png")


def _link_declaration(folder: Path, fifo: Path) -> None:
    (folder / "asset.json").unlink()
    os.symlink(fifo, folder / "asset.json")


def _extra_png(folder: Path, fifo: Path) -> None:
    make_png(folder / "b.png", 8)


CASES = [
    Case(
        "bad/json",
        "declaration.invalid_json",
        lambda f: b'{"schema_version": 1,\n  "name": ',
        mentions=("line 2",),
    ),
    Case("bad/not_utf8", "declaration.invalid_json", lambda f: b'{"name": "\xff\xfe"}'),
    Case("bad/too_deep", "declaration.invalid_json", lambda f: b"[" * 100_000 + b"]" * 100_000),
    Case("bad/not_object", "declaration.schema", lambda f: b"[1, 2, 3]\n"),
    Case("bad/huge_int", "declaration.invalid_json", lambda f: _spliced("9" * 5000)),
    Case("bad/nan", "declaration.invalid_json", lambda f: _spliced("NaN"), mentions=("NaN",)),
    Case(
        "bad/missing_fields",
        "declaration.schema",
        lambda f: {"schema_version": 1, "asset_uuid": str(uuid.uuid4())},
        mentions=("name", "type", "inputs", "artifacts", "output", "preload"),
    ),
    Case(
        "bad/wrong_types",
        "declaration.schema",
        lambda f: decl(name=5, preload={"enabled": "yes"}),
        mentions=("name", "preload.enabled"),
    ),
    Case(
        "bad/dotdot",
        "path.escapes_root",
        lambda f: decl(**one_input("../../../../outside.png")),
        path="../../../../outside.png",
    ),
    Case("bad/absolute", "path.absolute", lambda f: decl(**one_input(str(f))), path="{fifo}"),
    Case(
        "bad/symlink",
        "path.symlink_escapes",
        lambda f: decl(**one_input("link.png")),
        path="link.png",
        setup=_link_input,
    ),
    Case(
        "bad/linked_declaration", "path.symlink_escapes", lambda f: decl(), setup=_link_declaration
    ),
    Case("bad/nul_in_path", "path.invalid", lambda f: decl(**one_input("a\x00.png"))),
    Case(
        "bad/version2",
        "declaration.schema_version_unsupported",
        lambda f: decl(schema_version=2),
        mentions=("2",),
    ),
    Case(
        "bad/family",
        "declaration.unknown_family",
        lambda f: decl(type="tilemap"),
        mentions=("tilemap",),
    ),
    Case(
        "bad/artifact",
        "artifact.file_not_declared",
        lambda f: decl(artifacts=[{"index": 0, "file": "b.png"}]),
        path="b.png",
        setup=_extra_png,
    ),
    Case(
        "bad/uuid",
        "declaration.uuid_invalid",
        lambda f: decl("not-a-uuid"),
        mentions=("not-a-uuid",),
    ),
    Case("bad/uuid1", "declaration.uuid_invalid", lambda f: decl(str(uuid.uuid1()))),
]
IDS = [c.root for c in CASES]


@dataclass
class Broken:
    project: Path
    fifo: Path
    ids: dict[str, int]
    results: dict[tuple[str, ...], tuple[int, str, str]]

    def json_of(self, *args: str) -> tuple[int, dict[str, Any]]:
        rc, out, err = self.results[args]
        assert rc in (0, 1), f"{args}: exit {rc}\n{out}\n{err}"
        return rc, json.loads(out)


def build_broken(base: Path) -> tuple[Path, Path, dict[str, int]]:
    project = base / "proj"
    fifo = base / "outside.png"
    os.mkfifo(fifo)
    entries = []
    ids: dict[str, int] = {}
    for asset_id, case in enumerate([*CASES, None], start=1):
        root = case.root if case else GOOD_ROOT
        folder = project / "assets" / root
        make_png(folder / "a.png", 8)
        body = case.body(fifo) if case else decl()
        data = body if isinstance(body, bytes) else canonical(body)
        (folder / "asset.json").write_bytes(data)
        asset_uuid = body.get("asset_uuid") if isinstance(body, dict) else None
        if case and case.setup:
            case.setup(folder, fifo)
        ids[root] = asset_id
        entries.append(
            {
                "asset_id": asset_id,
                "asset_uuid": asset_uuid if isinstance(asset_uuid, str) else str(uuid.uuid4()),
                "included_in_build": True,
                "root": root,
            }
        )
    registry = {"assets": entries, "next_asset_id": len(entries) + 1, "schema_version": 1}
    write_registry(project, canonical(registry))
    return project, fifo, ids


COMMANDS: list[tuple[str, ...]] = [
    ("list", "--json"),
    ("list",),
    ("validate", "--json"),
    ("validate",),
    ("pack", "--json"),
    ("summary", "--json"),
    *[("show", c.root, "--json") for c in CASES],
    ("show", "bad/symlink"),
    ("show", GOOD_ROOT, "--json"),
    ("show", "1", "--json"),
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Broken:
    """The broken workspace, and every command of COMMANDS run on it."""
    project, fifo, ids = build_broken(tmp_path_factory.mktemp("broken"))
    results = run_cli_each(COMMANDS, cwd=project, timeout=TIMEOUT)
    return Broken(project, fifo, ids, dict(zip(COMMANDS, results, strict=True)))


def test_no_command_crashes_hangs_or_prints_a_traceback(broken: Broken) -> None:
    for args, (rc, out, err) in broken.results.items():
        assert "TIMED OUT" not in err, f"{args} hung (it opened the FIFO?)"
        assert "Traceback" not in out + err, args
        assert "internal error" not in err, (args, err)
        assert rc in (0, 1), (args, rc, err)


def test_escaping_targets_are_never_touched(broken: Broken) -> None:
    # every command finished (above), so nobody blocked opening the FIFO; it is still a FIFO
    assert stat.S_ISFIFO(os.lstat(broken.fifo).st_mode)
    # the '..' and absolute cases really aim at that FIFO
    dotdot = broken.project / "assets/bad/dotdot/../../../../outside.png"
    assert os.path.normpath(dotdot) == str(broken.fifo)
    assert not (broken.project / "build").exists()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_show_gives_one_clear_blocking_diagnostic(broken: Broken, case: Case) -> None:
    _, res = broken.json_of("show", case.root, "--json")
    assert res["status"] == "blocked"  # what `validate` would say of it
    diags = res["diagnostics"]
    assert [d["code"] for d in diags] == [case.code], diags
    [d] = diags
    assert d["blocking"] is True and d["severity"] == "error"
    assert d["asset_id"] == broken.ids[case.root]
    assert d["asset_root"] == case.root
    assert d["message"] and d["hint"]
    for word in case.mentions:
        assert word in d["message"], (word, d["message"])
    if case.path is not None:
        assert d["path"] == case.path.format(fifo=broken.fifo)
    assert res["blockers"] == diags
    assert res["asset"]["blocking"] is True
    assert res["asset"]["registered"] is True


def test_show_human_output_names_the_problem(broken: Broken) -> None:
    rc, out, _ = broken.results[("show", "bad/symlink")]
    assert rc in (0, 1)
    assert "path.symlink_escapes" in out and "link.png" in out and "blocking" in out


def test_healthy_neighbour_is_not_blamed(broken: Broken) -> None:
    _, res = broken.json_of("show", GOOD_ROOT, "--json")
    assert res["diagnostics"] == []
    assert res["asset"]["blocking"] is False
    _, by_id = broken.json_of("show", "1", "--json")
    assert by_id["asset"]["root"] == CASES[0].root


def test_list_flags_every_broken_asset(broken: Broken) -> None:
    rc, res = broken.json_of("list", "--json")
    assert rc == 0
    assert res["diagnostics"] == []  # the registry itself is fine
    rows = {r["root"]: r for r in res["assets"]}
    assert set(rows) == {*IDS, GOOD_ROOT}
    for root, row in rows.items():
        assert row["registered"] is True
        assert row["asset_id"] == broken.ids[root]
        assert row["blocking"] is (root != GOOD_ROOT), root
    rc, out, _ = broken.results[("list",)]
    assert rc == 0 and "bad/version2" in out


def test_validate_blocks_with_each_code(broken: Broken) -> None:
    rc, res = broken.json_of("validate", "--json")
    assert rc == 1
    assert res["status"] == "blocked" and res["green"] is False
    by_root = {row["root"]: [d["code"] for d in row["diagnostics"]] for row in res["assets"]}
    assert by_root == {c.root: [c.code] for c in CASES}
    for row in res["assets"]:
        assert row["asset_id"] == broken.ids[row["root"]]
        assert all(d["blocking"] for d in row["diagnostics"])
    rc, out, _ = broken.results[("validate",)]
    assert rc == 1
    for case in CASES:
        assert case.code in out


def test_pack_is_blocked_and_creates_no_build(broken: Broken) -> None:
    rc, res = broken.json_of("pack", "--json")
    assert rc == 1
    assert res["status"] == "blocked"
    assert res["execution_began"] is False
    assert res["packed_assets"] == 0 and res["assets_pa"] is None
    assert {d["code"] for d in res["blockers"]} == {c.code for c in CASES}
    assert not (broken.project / "build").exists()


# A registry that is itself broken ------------------------------------------------------------


def valid_asset(project: Path, root: str = "art/tile") -> str:
    folder = project / "assets" / root
    make_png(folder / "a.png", 8)
    body = decl()
    (folder / "asset.json").write_bytes(canonical(body))
    return str(body["asset_uuid"])


def entry_for(asset_uuid: str, **changes: Any) -> dict[str, Any]:
    e = {"asset_id": 1, "asset_uuid": asset_uuid, "included_in_build": True, "root": "art/tile"}
    e.update(changes)
    return e


REGISTRY_CASES: list[tuple[str, str, Callable[[str], bytes]]] = [
    ("syntax", "registry.invalid_json", lambda u: b'{"assets": [,\n'),
    ("not_utf8", "registry.invalid_json", lambda u: b"\xff\xfe{}"),
    ("empty", "registry.invalid_json", lambda u: b""),
    ("top_level_list", "registry.schema", lambda u: b"[]\n"),
    (
        "string_id",
        "registry.schema",
        lambda u: canonical(
            {"assets": [entry_for(u, asset_id="1")], "next_asset_id": 2, "schema_version": 1}
        ),
    ),
    (
        "unknown_key",
        "registry.schema",
        lambda u: canonical({"assets": [], "next_asset_id": 1, "schema_version": 1, "extra": True}),
    ),
    (
        "version2",
        "registry.schema_version_unsupported",
        lambda u: canonical({"assets": [], "next_asset_id": 1, "schema_version": 2}),
    ),
    (
        "nan",
        "registry.invalid_json",
        lambda u: b'{"assets": [], "next_asset_id": NaN, "schema_version": 1}\n',
    ),
    (
        "lone_surrogate",
        "registry.invalid_json",
        lambda u: canonical(
            {"assets": [entry_for("@")], "next_asset_id": 2, "schema_version": 1}
        ).replace(b'"@"', b'"\\udfff"'),
    ),
]


@pytest.fixture(scope="module")
def broken_registries(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, bytes, tuple[int, str, str]]]:
    """One project per REGISTRY_CASES entry; `list --json` run on each of them."""
    base = tmp_path_factory.mktemp("registries")
    projects = {}
    for name, _, body in REGISTRY_CASES:
        project = base / name
        data = body(valid_asset(project))
        write_registry(project, data)
        projects[name] = (project, data)
    results = run_cli_each(
        [("--project", str(p), "list", "--json") for p, _ in projects.values()],
        cwd=base,
        timeout=TIMEOUT,
    )
    return {
        name: (project, data, result)
        for (name, (project, data)), result in zip(projects.items(), results, strict=True)
    }


@pytest.mark.parametrize(
    ("name", "code"), [c[:2] for c in REGISTRY_CASES], ids=[c[0] for c in REGISTRY_CASES]
)
def test_broken_registry_gives_one_blocking_diagnostic(
    broken_registries: dict[str, tuple[Path, bytes, tuple[int, str, str]]], name: str, code: str
) -> None:
    project, data, (rc, out, err) = broken_registries[name]
    assert "Traceback" not in out + err
    assert rc == 1, (out, err)
    res = json.loads(out)
    assert res["status"] == "failed"
    assert [(d["code"], d["blocking"]) for d in res["diagnostics"]] == [(code, True)]
    assert res["diagnostics"][0]["message"] and res["diagnostics"][0]["hint"]
    assert res["blockers"] == res["diagnostics"]
    assert (project / REGISTRY).read_bytes() == data


BROKEN_REGISTRY = b'{"assets": [\n  {"asset_id": 1,, }\n'
REGISTRY_SWEEP: list[tuple[str, ...]] = [
    ("list", "--json"),
    ("validate", "--json"),
    ("pack", "--json"),
    ("register", "art/tile", "--json"),
    ("new", "glyph_bank", "art/more", "--tile-size", "8", "art/tile/a.png", "--json"),
    ("exclude", "1", "--json"),
    ("relocate", "1", "art/moved", "--yes", "--json"),
    ("remove", "1", "--delete-files", "--yes", "--json"),
    ("init", "--json"),
    ("summary", "--json"),
    ("show", "art/tile", "--json"),
]


def test_broken_registry_blocks_everything_and_is_never_rewritten(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    valid_asset(project)
    write_registry(project, BROKEN_REGISTRY)
    asset_files = {p.name: p.read_bytes() for p in (project / "assets/art/tile").iterdir()}
    before = {p.relative_to(project) for p in project.rglob("*")}
    results = dict(
        zip(
            REGISTRY_SWEEP,
            run_cli_each(REGISTRY_SWEEP, cwd=project, timeout=TIMEOUT),
            strict=True,
        )
    )
    for args, (rc, out, err) in results.items():
        assert "Traceback" not in out + err and "internal error" not in err, args
        assert rc in (0, 1), (args, rc, err)
    for args in REGISTRY_SWEEP[:8]:
        rc, out, _ = results[args]
        assert rc == 1, args
        res = json.loads(out)
        assert res["status"] in ("blocked", "failed"), args
        assert "registry.invalid_json" in {d["code"] for d in res["blockers"]}, args
    # nothing was rewritten, moved, deleted or built
    assert (project / REGISTRY).read_bytes() == BROKEN_REGISTRY
    assert {p.name: p.read_bytes() for p in (project / "assets/art/tile").iterdir()} == asset_files
    after = {p.relative_to(project) for p in project.rglob("*")}
    assert before <= after
    for p in after - before:  # only packer bookkeeping may appear (lock file, cache)
        assert p.parts[:2] == ("assets", ".prometeu") or p.parts[0] == ".prometeu-cache", p
    assert not (project / "build").exists()
    assert not (project / "assets/art/more").exists()
    assert not (project / "assets/art/moved").exists()


def test_summary_exits_nonzero_on_broken_registry(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    valid_asset(project)
    write_registry(project, BROKEN_REGISTRY)
    rc, out, _ = run_cli("summary", "--json", cwd=project, timeout=TIMEOUT)
    assert "registry.invalid_json" in out
    assert rc == 1


def escaping_root_project(base: Path) -> Path:
    """A project whose registry entry 2 has root '../elsewhere' (outside assets/)."""
    project = base / "proj"
    asset_uuid = valid_asset(project)
    (project / "elsewhere").mkdir()
    registry = {
        "assets": [
            entry_for(asset_uuid),
            entry_for(str(uuid.uuid4()), asset_id=2, root="../elsewhere"),
        ],
        "next_asset_id": 3,
        "schema_version": 1,
    }
    write_registry(project, canonical(registry))
    return project


def test_registry_root_outside_assets_is_never_read(tmp_path: Path) -> None:
    """A registry entry whose root escapes assets/ is blocking, and its files stay unopened."""
    project = escaping_root_project(tmp_path)
    os.mkfifo(project / "elsewhere" / "asset.json")
    results = run_cli_each(
        [("list", "--json"), ("show", "2", "--json"), ("validate", "--json")],
        cwd=project,
        timeout=TIMEOUT,
    )
    for rc, out, err in results:
        assert "TIMED OUT" not in err and "Traceback" not in out + err
        assert rc in (0, 1), err
    (_, lout, _), (_, sout, _), (vrc, vout, _) = results
    rows = {r["asset_id"]: r for r in json.loads(lout)["assets"]}
    assert rows[2]["blocking"] is True and rows[1]["blocking"] is False
    show = json.loads(sout)
    assert [d["code"] for d in show["diagnostics"]] == ["registry.root_invalid"]
    assert show["diagnostics"][0]["blocking"] is True
    assert show["asset"]["blocking"] is True
    assert vrc == 1
    validate = json.loads(vout)
    assert {row["asset_id"] for row in validate["assets"]} == {2}
    assert "registry.root_invalid" in {d["code"] for d in validate["blockers"]}


def test_delete_files_never_reaches_outside_assets(tmp_path: Path) -> None:
    project = escaping_root_project(tmp_path)
    precious = project / "elsewhere" / "precious.txt"
    precious.write_bytes(b"not an asset")
    rc, out, err = run_cli(
        "remove", "2", "--delete-files", "--yes", "--json", cwd=project, timeout=TIMEOUT
    )
    assert "Traceback" not in out + err and rc in (0, 1)
    assert precious.read_bytes() == b"not an asset"


def test_relocate_never_moves_a_folder_from_outside_assets(tmp_path: Path) -> None:
    project = escaping_root_project(tmp_path)
    precious = project / "elsewhere" / "precious.txt"
    precious.write_bytes(b"not an asset")
    rc, out, err = run_cli(
        "relocate", "2", "moved", "--yes", "--json", cwd=project, timeout=TIMEOUT
    )
    assert "Traceback" not in out + err and rc in (0, 1)
    assert precious.read_bytes() == b"not an asset"
    assert not (project / "assets/moved").exists()
