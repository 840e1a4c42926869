"""Helpers for the doit / cache integration tests (real doit runs, real files).

No tests live here; `test_doit_*.py` and `test_cache_integration.py` import these helpers
(``from test_doit_support import ...``), the same way ``conftest`` helpers are imported.

``run_doit`` and ``run_packer`` run in this process (``conftest.call_in_process``: the
project as working folder, the given environment, output captured), with the project's
``dodo.py`` executed afresh for every doit run. ``run_doit_process`` and
``run_packer_process`` start real processes, for what needs one: ``doit -n N`` workers
forked from a clean interpreter, the real ``python -m doit`` loader, kills and signals.
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import IN_PROCESS, call_in_process, cli_env, glyph_decl
from conftest import OUTPUTS as OUTPUTS  # re-exported for the doit tests
from conftest import STARTER as STARTER
from conftest import copy_project as copy_project
from PIL import Image

TIMEOUT = 120

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


def base_env(**extra: str | None) -> dict[str, str]:
    """The environment of a doit or CLI run (``conftest.cli_env``), plus ``extra``."""
    return cli_env(**extra)


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


def _checked(run: Run, check: bool) -> Run:
    assert "Traceback" not in run.output, run.output
    if check:
        assert run.returncode == 0, run.output
    return run


def _doit_main(project: Path, args: list[str]) -> int:
    """`doit ARGS` with the project's dodo.py loaded as a new module (nothing of an
    earlier run's module survives); the caller has made the project the working folder."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    dodo = runpy.run_path(str(project / "dodo.py"), run_name="dodo")
    # `doit run`'s default output stream is the sys.stdout of when doit was imported; a
    # process's own stdout is what this run's stdout is now.
    config = {"GLOBAL": {"outfile": sys.stdout}}
    status: int = DoitMain(ModuleTaskLoader(dodo), extra_config=config).run(args)
    return status


def run_doit(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """`doit ARGS` (default: `pack`) in the project folder, in this process (a real process
    with PROMETEU_TESTS_IN_PROCESS=0)."""
    if not IN_PROCESS:
        return run_doit_process(project, *args, env=env, check=check)
    return run_doit_in_process(project, *args, env=env, check=check)


def run_doit_in_process(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """`doit ARGS` (default: `pack`) in the project folder, always in this process."""
    argv = list(args or ("pack",))
    code, out, err = call_in_process(
        lambda: _doit_main(project, argv), cwd=project, env=env, timeout=TIMEOUT
    )
    return _checked(Run(["doit", *argv], code, out, err), check)


def run_packer(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """The `prometeu-packer` CLI in the project folder, in this process (a real process
    with PROMETEU_TESTS_IN_PROCESS=0)."""
    if not IN_PROCESS:
        return run_packer_process(project, *args, env=env, check=check)
    from packer_tasks.cli import main

    argv = list(args)
    code, out, err = call_in_process(lambda: main(argv), cwd=project, env=env, timeout=TIMEOUT)
    return _checked(Run(["prometeu-packer", *argv], code, out, err), check)


def _process(argv: list[str], project: Path, env: Mapping[str, str] | None) -> Run:
    proc = subprocess.run(
        argv,
        cwd=project,
        env=dict(env) if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def run_doit_process(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """`python -m doit ARGS` (default: `pack`) as a real process in the project folder."""
    argv = [sys.executable, "-m", "doit", *(args or ("pack",))]
    return _checked(_process(argv, project, env), check)


def run_packer_process(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> Run:
    """`python -m packer_tasks ARGS` as a real process in the project folder."""
    argv = [sys.executable, "-m", "packer_tasks", *args]
    return _checked(_process(argv, project, env), check)


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
            folder / "asset.json", glyph_decl(asset_uuid, f"bank_{i:04d}", tile_size=tile_size)
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
