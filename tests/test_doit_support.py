"""Helpers for the doit / cache integration tests (real doit subprocesses, real files).

No tests live here; `test_doit_*.py` and `test_cache_integration.py` import these helpers
(``from test_doit_support import ...``), the same way ``conftest`` helpers are imported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
STARTER = REPO / "sample_projects" / "starter"
# The four outputs plus the build record (SPEC §8 step 6), all published together.
OUTPUTS = (
    "assets.pa",
    "asset_table.json",
    "preload.json",
    "asset_table_metadata.json",
    ".prometeu-build.json",
)
PACKER_ENV = ("PROMETEU_PACKER_CACHE", "PROMETEU_PACKER_EVENTS", "PROMETEU_PACKER_DEBUG")

SUMMARY = re.compile(
    r"^packed (?P<packed>\d+) asset\(s\): (?P<hits>\d+) cache hit\(s\), "
    r"(?P<misses>\d+) miss\(es\), (?P<up>\d+) up-to-date, [\d.]+s$",
    re.M,
)
UP_TO_DATE = re.compile(
    r"^build/assets\.pa is up to date: (?P<packed>\d+) asset\(s\), (?P<hits>\d+) cache "
    r"hit\(s\), (?P<misses>\d+) miss\(es\), (?P<up>\d+) up-to-date, [\d.]+s$",
    re.M,
)


def _ignore_state(folder: str, names: list[str]) -> set[str]:
    """Build outputs, caches and doit/digest state are never copied with a project."""
    return {
        n
        for n in names
        if n in ("build", ".prometeu-cache", "__pycache__")
        or n.startswith((".doit.db", ".digests.sqlite"))
    }


def copy_project(src: Path, dest: Path, *, keep: Sequence[str] = ()) -> Path:
    """Copy a project without its state; `keep` names top-level state dirs to carry over
    (e.g. the cache directory, like a CI cache restore)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = _ignore_state(folder, names)
        if Path(folder) == src:
            skipped -= set(keep)
        return skipped

    shutil.copytree(src, dest, ignore=ignore, symlinks=True)
    return dest


def base_env(**extra: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in PACKER_ENV:
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def counts(self) -> dict[str, int]:
        """The run's one summary line as numbers (packed, hits, misses, up)."""
        lines = SUMMARY.findall(self.output) + UP_TO_DATE.findall(self.output)
        assert len(lines) == 1, f"expected exactly one summary line:\n{self.output}"
        match = SUMMARY.search(self.output) or UP_TO_DATE.search(self.output)
        assert match is not None
        return {k: int(v) for k, v in match.groupdict().items()}

    def summary_line(self) -> str:
        match = SUMMARY.search(self.output) or UP_TO_DATE.search(self.output)
        assert match is not None, self.output
        return match.group(0)


def run_doit(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """`python -m doit ARGS` in the project folder (default: `pack`)."""
    argv = [sys.executable, "-m", "doit", *(args or ("pack",))]
    proc = subprocess.run(
        argv,
        cwd=project,
        env=dict(env) if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = Run(argv, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in run.output, run.output
    if check:
        assert run.returncode == 0, run.output
    return run


def run_packer(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """The `prometeu-packer` CLI (`python -m packer_tasks`) in the project folder."""
    argv = [sys.executable, "-m", "packer_tasks", *args]
    proc = subprocess.run(
        argv,
        cwd=project,
        env=dict(env) if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = Run(argv, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in run.output, run.output
    if check:
        assert run.returncode == 0, run.output
    return run


def build_bytes(project: Path) -> dict[str, bytes]:
    """The four outputs in build/, and nothing else promoted there."""
    build = project / "build"
    promoted = sorted(p.name for p in build.iterdir() if p.name != ".staging")
    assert promoted == sorted(OUTPUTS), promoted
    return {name: (build / name).read_bytes() for name in OUTPUTS}


def asset_table(project: Path) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = json.loads((project / "build" / "asset_table.json").read_text())
    return table


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Canonical-ish (sorted, 2-space, trailing newline) like the packer writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def kinds(evts: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [e for e in evts if e.get("kind") == kind]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def repaint(png: Path, pixels: Iterable[tuple[int, int]], colour: tuple[int, ...]) -> None:
    """Paint some pixels of a PNG in place, keeping its mode."""
    with Image.open(png) as img:
        img.load()
        edited = img.copy()
    for xy in pixels:
        edited.putpixel(xy, colour if edited.mode != "RGB" else colour[:3])
    edited.save(png, format="PNG")


def make_glyph_project(root: Path, count: int, *, tile_size: int = 8) -> Path:
    """A project with `count` one-tile glyph banks, each tile in its own two colours."""
    assets = root / "assets"
    entries = []
    for i in range(count):
        rel = f"g/bank_{i:04d}"
        folder = assets / "g" / f"bank_{i:04d}"
        folder.mkdir(parents=True)
        a = ((i * 37) % 251 + 4) & 0xF8, ((i * 11) % 63 + 1) << 2, (i % 31 + 1) << 3
        b = 255 - a[0], (255 - a[1]) & 0xFC, (i * 7) % 248 & 0xF8
        img = Image.new("RGB", (tile_size, tile_size))
        img.putdata(
            [a if (x + y + i) % 3 else b for y in range(tile_size) for x in range(tile_size)]
        )
        img.save(folder / "tile.png", format="PNG")
        asset_uuid = str(uuid.UUID(int=i + 1, version=4))
        write_json(
            folder / "asset.json",
            {
                "schema_version": 1,
                "asset_uuid": asset_uuid,
                "name": f"bank_{i:04d}",
                "type": "glyph_bank",
                "inputs": {"tiles": ["tile.png"]},
                "artifacts": [{"index": 0, "file": "tile.png"}],
                "output": {
                    "format": "GLYPH/indexed_v1",
                    "codec": "NONE",
                    "metadata": {"tile_size": tile_size},
                    "pipeline": {},
                },
                "preload": {"enabled": False},
            },
        )
        entries.append(
            {
                "asset_id": i + 1,
                "asset_uuid": asset_uuid,
                "included_in_build": True,
                "root": rel,
            }
        )
    write_json(
        assets / ".prometeu" / "index.json",
        {"assets": entries, "next_asset_id": count + 1, "schema_version": 1},
    )
    (root / "dodo.py").write_text("from packer_tasks.dodo import *  # noqa: F401,F403\n")
    return root
