"""Ctrl-C in either entry point (`prometeu-packer pack`, `doit pack`): exit 130 with one
line, no traceback, build/ one complete set (the old one or the new one), and the next
build gives exactly the bytes of a clean full build. Real processes and real SIGINTs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_doit_support import (
    STARTER,
    base_env,
    build_bytes,
    copy_project,
    make_glyph_project,
    repaint,
    run_doit,
)
from test_reliability_support import assert_coherent

ENTRY_POINTS = ("cli", "doit")


def _argv(entry: str, events: Path) -> list[str]:
    if entry == "cli":
        return [sys.executable, "-m", "packer_tasks", "--events", str(events), "pack"]
    return [sys.executable, "-m", "doit", "pack"]  # events from PROMETEU_PACKER_EVENTS


def _wait_for_misses(events: Path, proc: subprocess.Popen[str], n: int) -> None:
    """Until the run has reported `n` cache misses (so it is mid-materialization)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if events.exists():
            text = events.read_text("utf-8")
            if text.count('"kind":"cache_miss"') >= n:
                return
        time.sleep(0.01)
    pytest.fail(f"the run never reached {n} cache misses (exit {proc.poll()})")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_ctrl_c_exits_130_with_one_line_and_a_complete_build(entry: str, tmp_path: Path) -> None:
    project = make_glyph_project(tmp_path / "game", 150)
    run_doit(project)  # the previous complete build
    old = build_bytes(project)
    for i in range(150):  # every asset changes: the next run has real work to do
        png = project / "assets" / "g" / f"bank_{i:04d}" / "tile.png"
        repaint(png, [(0, 0)], (0, 0, 0, 255))
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        _argv(entry, events),
        cwd=project,
        env=base_env(PROMETEU_PACKER_EVENTS=str(events)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_misses(events, proc, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0], err

    files = assert_coherent(project / "build")
    new = {n: files[n] for n in old}
    finished = [json.loads(x) for x in events.read_text("utf-8").splitlines() if x.strip()]
    kinds = [e["kind"] for e in finished]
    assert kinds.count("build_started") == kinds.count("build_finished") == 1, kinds

    # the next build (either entry point) gives exactly a clean full build's bytes
    again = run_doit(project)
    assert "Traceback" not in again.output
    clean = tmp_path / "clean"
    shutil.copytree(project / "assets", clean / "assets")
    (clean / "dodo.py").write_text((project / "dodo.py").read_text())
    run_doit(clean)
    assert build_bytes(project) == build_bytes(clean)
    assert new in (old, build_bytes(project))  # what the interrupted run left was complete


def test_without_signal_masks_ctrl_c_waits_for_the_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no pthread_sigmask: a Ctrl-C during promotion is noted and raised only
    once every output is renamed, so build/ still holds one complete set."""
    from packer_tasks.service import PackerService
    from packer_tasks.workspace.project import Project

    project = copy_project(STARTER, tmp_path / "game")
    service = PackerService(Project(project))
    assert service.pack().status.value == "success"
    (project / "assets" / "ui" / "hud_icons" / "asset.json").write_text(
        (project / "assets" / "ui" / "hud_icons" / "asset.json")
        .read_text()
        .replace('"hud_icons"', '"hud_icons_2"')
    )
    monkeypatch.delattr(signal, "pthread_sigmask")
    real_replace = os.replace
    sent: list[bool] = []

    def replace_and_interrupt(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_replace(src, dst)
        if not sent and Path(dst).parent == project / "build":
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C after the first rename

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    with pytest.raises(KeyboardInterrupt):
        PackerService(Project(project)).pack()
    monkeypatch.undo()
    assert sent
    clean = copy_project(project, tmp_path / "clean")
    assert PackerService(Project(clean)).pack().status.value == "success"
    assert build_bytes(project) == build_bytes(clean)
