"""Cache misses decode in worker processes; bytes, counts and each asset's events (and the
progress sequence) do not depend on it. Lookups run ahead of the decodes, so a pooled run
may announce the next misses before the progress of earlier assets."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import cli_env, popen_cli
from PIL import Image
from test_doit_support import base_env, build_bytes, events, make_glyph_project, run_doit

from packer_tasks.pipeline.decode_pool import JOBS_ENV, MIN_ASSETS

COUNT = MIN_ASSETS + 6


def _pack(project: Path, jobs: str, log: Path) -> dict[str, int]:
    env = base_env(**{JOBS_ENV: jobs, "PROMETEU_PACKER_EVENTS": str(log)})
    return run_doit(project, env=env).counts()


def test_workers_and_one_process_give_the_same_bytes_and_events(tmp_path: Path) -> None:
    pooled = make_glyph_project(tmp_path / "pooled", COUNT)
    single = tmp_path / "single"
    shutil.copytree(pooled, single)

    assert _pack(pooled, "2", tmp_path / "pooled.jsonl")["misses"] == COUNT
    assert _pack(single, "1", tmp_path / "single.jsonl")["misses"] == COUNT
    assert build_bytes(pooled) == build_bytes(single)

    def per_asset(log: Path) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for e in events(log):
            for a in e.get("affected_assets", []):
                out.setdefault(a["asset_id"], []).append(e["kind"])
        return out

    def progress(log: Path) -> list[tuple[int, int]]:
        return [
            (e["progress"]["current"], e["affected_assets"][0]["asset_id"])
            for e in events(log)
            if e["kind"] == "progress_updated"
        ]

    pooled_log, single_log = tmp_path / "pooled.jsonl", tmp_path / "single.jsonl"
    assert per_asset(pooled_log) == per_asset(single_log)
    assert progress(pooled_log) == progress(single_log) == [(i, i) for i in range(1, COUNT + 1)]


def test_a_bad_input_among_many_blocks_with_its_diagnostic(tmp_path: Path) -> None:
    project = make_glyph_project(tmp_path / "game", COUNT)
    tile = project / "assets" / "g" / "bank_0007" / "tile.png"
    Image.new("RGB", (12, 8), (1, 2, 3)).save(tile)  # wrong size: blocks the pack
    env = base_env(**{JOBS_ENV: "2"})
    run = run_doit(project, env=env, check=False)
    assert run.returncode != 0
    assert "bank_0007" in run.output and "tile.png" in run.output, run.output
    assert not (project / "build").exists()


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_pack_leaves_no_worker_behind(tmp_path: Path) -> None:
    """SIGKILL of the packer: its workers neither keep its output open nor live on."""
    project = make_glyph_project(tmp_path / "game", 400, tile_size=32)
    env = {**cli_env(), JOBS_ENV: "2"}
    proc = popen_cli("--no-cache", "pack", cwd=project, env=env)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.01)
    assert workers, "the pack never started its decode workers"
    proc.kill()
    proc.communicate(timeout=10)  # nobody else holds its stdout/stderr
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "decode workers outlived the packer"
