"""The `pack` task group as doit shows and runs it: names, help, default task, failures,
parallel runs and partial state. doit runs in this process (`run_doit`), except where a real
`python -m doit` process is the point: the bare `doit` (the dodo.py loader and its default
task) and `doit -n N`, whose workers are forked from that process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from doit.doit_cmd import DoitMain
from test_doit_support import (
    STARTER,
    base_env,
    build_bytes,
    copy_project,
    events,
    run_doit,
    run_doit_process,
)

ALL_MISSES = {"packed": 5, "hits": 0, "misses": 5, "up": 0}
UP_TO_DATE = {"packed": 5, "hits": 0, "misses": 0, "up": 5}


def test_pack_is_listed_documented_and_does_not_clash(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "starter")

    listed = run_doit(project, "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["pack"], listed
    assert "Pack this project's build set" in listed[0]
    every = run_doit(project, "list", "--all", "--quiet").stdout.split()
    assert every == ["pack", "pack:assemble"]
    commands = {cmd.get_name() for cmd in DoitMain.DOIT_CMDS}
    assert {"run", "list", "info", "help"} <= commands and not commands & set(every)

    helped = run_doit(project, "help", "pack").stdout
    assert "Pack this project's build set into build/assets.pa" in helped
    # `doit info` exits 1 while a task is not up to date; the text is what matters.
    info = run_doit(project, "info", "pack:assemble", check=False).stdout
    assert "write build/assets.pa and its companions" in info
    assert "status     : run" in info
    # One task over the build set: its dependencies are the registry, every build-set
    # asset.json and every declared input.
    deps = ("assets/.prometeu/index.json", "assets/ui/hud_icons/asset.json", "heart.png")
    for needle in ("build/assets.pa", "build/.prometeu-build.json", *deps):
        assert needle in info, (needle, info)
    assert not (project / "build").exists(), "list/help/info must not build"

    # `doit` with no arguments runs pack (DOIT_CONFIG default_tasks).
    bare = subprocess.run(
        [sys.executable, "-m", "doit"],
        cwd=project,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert "Traceback" not in bare.stdout + bare.stderr
    assert "packed 5 asset(s): 0 cache hit(s), 5 miss(es), 0 up-to-date" in bare.stdout
    reference = build_bytes(project)
    done = run_doit(project, "info", "pack:assemble")
    assert "status     : up-to-date" in done.stdout
    assert run_doit(project, "run", "pack").counts() == UP_TO_DATE
    assert build_bytes(project) == reference


def test_blocked_asset_fails_cleanly_and_keeps_the_previous_build(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "starter")
    assert run_doit(project).counts() == ALL_MISSES
    reference = build_bytes(project)

    heart = project / "assets" / "ui" / "hud_icons" / "heart.png"
    original = heart.read_bytes()
    from PIL import Image

    with Image.open(heart) as img:
        img.load()
        broken = img.copy()
    broken.putpixel((3, 3), (0, 255, 0, 255))  # green: not in the declared palette
    broken.save(heart, format="PNG")

    log = tmp_path / "events.jsonl"
    failed = run_doit(project, env=base_env(PROMETEU_PACKER_EVENTS=str(log)), check=False)
    assert failed.returncode != 0, failed.output
    assert "packer: pack:assemble failed" in failed.output
    assert "pack blocked by asset content" in failed.output and "heart.png" in failed.output
    assert "pack failed: 1 task(s) failed" in failed.output
    assert build_bytes(project) == reference, "a blocked pack must not touch build/"
    lifecycle = [e for e in events(log) if e["kind"] in ("build_started", "build_finished")]
    assert [e["kind"] for e in lifecycle] == ["build_started", "build_finished"]
    assert lifecycle[1]["data"]["status"] == "blocked"

    # Restoring the file: build/ was never wrong. The task re-runs (a failed task keeps no
    # state); the service finds build/ already holding this build and publishes nothing.
    heart.write_bytes(original)
    log.unlink()
    fixed = run_doit(project, env=base_env(PROMETEU_PACKER_EVENTS=str(log)))
    assert fixed.counts() == UP_TO_DATE, fixed.output
    assert fixed.summary_line().startswith("build/assets.pa is up to date: 5 asset(s), 0 cache")
    assert build_bytes(project) == reference
    evts = [e for e in events(log) if e["kind"].startswith(("build_", "cache_"))]
    assert [e["kind"] for e in evts] == ["build_started", "build_finished"]
    assert evts[-1]["data"]["up_to_date"] == 5
    assert run_doit(project).counts() == UP_TO_DATE


def test_parallel_runs_report_and_build_the_same(tmp_path: Path) -> None:
    serial = copy_project(STARTER, tmp_path / "serial")
    assert run_doit(serial).counts() == ALL_MISSES
    reference = build_bytes(serial)

    # Worker processes (`-n 3`): results travel back as task values, each worker opens
    # its own cache and digest memo. Real doit processes: the workers are forked from
    # `python -m doit`, never from the test runner.
    project = copy_project(STARTER, tmp_path / "parallel")
    first = run_doit_process(project, "-n", "3", "pack")
    assert first.counts() == ALL_MISSES, first.output
    assert build_bytes(project) == reference
    assert run_doit_process(project, "-n", "3", "pack").counts() == UP_TO_DATE
    # Forget doit's state and remove build/: every asset comes back from the cache.
    run_doit(project, "forget", "pack:assemble")
    shutil.rmtree(project / "build")
    again = run_doit_process(project, "-n", "3", "pack")
    assert again.counts() == {"packed": 5, "hits": 5, "misses": 0, "up": 0}, again.output
    assert build_bytes(project) == reference


def test_repository_dodo_packs_the_embedded_project(tmp_path: Path) -> None:
    """The repo's own dodo.py packs sample_projects/starter from the repository root."""
    repo = tmp_path / "repo"
    starter = copy_project(STARTER, repo / "sample_projects" / "starter")
    (repo / "dodo.py").write_bytes((STARTER.parent.parent / "dodo.py").read_bytes())
    run = run_doit(repo)
    assert run.counts() == ALL_MISSES, run.output
    assert (repo / ".doit.db").is_file() and not (repo / "build").exists()
    assert (starter / ".prometeu-cache" / "cache.db").is_file()

    alone = copy_project(STARTER, tmp_path / "alone")
    assert run_doit(alone).counts() == ALL_MISSES
    assert build_bytes(starter) == build_bytes(alone)


def test_folder_without_a_project_fails_without_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "not_a_game"
    folder.mkdir()
    (folder / "dodo.py").write_text("from packer_tasks.dodo import *  # noqa: F401,F403\n")
    assert run_doit(folder, "list").stdout.split()[0] == "pack"
    run = run_doit(folder, check=False)  # run_doit also asserts there is no traceback
    assert run.returncode != 0
    assert "no prometeu project at or above" in run.output
    assert not (folder / "build").exists()
