"""Smoke test of the benchmark scripts: a tiny generated project packs, and the runner works."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"


def test_generate_is_deterministic_and_valid(tmp_path: Path) -> None:
    generate = runpy.run_path(str(BENCH / "generate.py"), run_name="benchmarks_generate")[
        "generate"
    ]
    generate(tmp_path / "a", 6, seed=3)
    generate(tmp_path / "b", 6, seed=3)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    for rel in files_a:
        if (tmp_path / "a" / rel).is_file():
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    registry = json.loads((tmp_path / "a/assets/.prometeu/index.json").read_text())
    assert [e["asset_id"] for e in registry["assets"]] == list(range(1, 7))
    assert registry["next_asset_id"] == 7
    text = (tmp_path / "a/assets/.prometeu/index.json").read_text()
    assert text == json.dumps(registry, sort_keys=True, indent=2) + "\n"


def test_generate_shapes(tmp_path: Path) -> None:
    module = runpy.run_path(str(BENCH / "generate.py"), run_name="benchmarks_generate")
    shape = module["make_shape"]("issue11", tiles_per_asset=3, samples_per_asset=4, depth=5)
    module["generate"](tmp_path / "p", 8, seed=1, shape=shape)
    registry = json.loads((tmp_path / "p/assets/.prometeu/index.json").read_text())
    for entry in registry["assets"]:
        assert entry["root"].count("/") == 4  # depth 5
        decl = json.loads((tmp_path / "p/assets" / entry["root"] / "asset.json").read_text())
        (names,) = decl["inputs"].values()
        assert len(names) == (3 if decl["type"] == "glyph_bank" else 4)


def test_runner_quick(tmp_path: Path) -> None:
    """One round on 20 assets (no MD5 rows): every step and floor runs, builds agree, the
    counts are right and every ratio gets a value."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--quick",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "results-20.json").read_text())
    assert result["identical"] is True
    assert result["problems"] == []
    steps = {row["step"]: row for row in result["steps"]}
    for name in ("F_noop", "F_hash", "F_decode", "W_build", "list", "help", "doctor"):
        assert steps[name]["wall_s"] is not None, name
    assert steps["cold"]["misses"] == 20
    assert steps["noop"]["up_to_date"] == 20
    assert steps["edit"]["misses"] == 1
    assert steps["fresh"]["hits"] == 20
    ratios = {row["key"]: row for row in result["ratios"]}
    assert ratios["noop"]["value"] is not None
    measured = [row for row in result["ratios"] if row["status"] != "not measured"]
    assert {row["status"] for row in measured} <= {"PASS", "FAIL", "info"}
    assert (out / "RESULTS.md").read_text().startswith("# prometeu-packer benchmarks")


def test_summary_line_spellings() -> None:
    """The runner reads the pack counts from doit's and the CLI's summary lines."""
    parse = runpy.run_path(str(BENCH / "measure.py"), run_name="benchmarks_measure")[
        "parse_summary"
    ]
    cli = "success: packed 9 asset(s) into build/assets.pa (2 cache hit(s), 7 miss(es)) in 5.1 s"
    assert parse(cli) | {"summary_line": ""} == {
        "packed": 9,
        "hits": 2,
        "misses": 7,
        "up_to_date": None,
        "reported_s": 5.1,
        "summary_line": "",
    }
    doit = "packed 9 asset(s): 0 cache hit(s), 1 miss(es), 8 up-to-date, 250 ms"
    assert (parse(doit)["misses"], parse(doit)["up_to_date"], parse(doit)["reported_s"]) == (
        1,
        8,
        0.25,
    )
    noop = "build/assets.pa is up to date: 9 asset(s), 0 cache hit(s), 0 miss(es), 9 up-to-date"
    assert parse(noop)["up_to_date"] == 9
    assert parse("nothing packed here") == {}
