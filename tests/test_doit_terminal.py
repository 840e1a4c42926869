"""A terminal run of `doit pack` shows the same live progress as the CLI, driven by the
packer's events (a real process on a pseudo-terminal, as a person would run it)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from test_doit_support import base_env


def _run_on_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=base_env(COLUMNS="100"), stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


def test_doit_pack_on_a_terminal_shows_the_live_bar(starter_copy: Path) -> None:
    (starter_copy / "dodo.py").write_text("from packer_tasks.dodo import *  # noqa: F403\n")
    code, screen = _run_on_a_terminal([sys.executable, "-m", "doit", "pack"], starter_copy)
    assert code == 0, screen
    assert "Traceback" not in screen
    assert "5/5" in screen, screen  # the bar reached the whole build set
    assert "build finished" in screen, screen  # the lifecycle line, from build_finished
    assert "packed 5 asset(s): 0 cache hit(s), 5 miss(es)" in screen
    # the CLI draws the same bar from the same events
    (starter_copy / "build").rename(starter_copy / "old-build")
    cli = [sys.executable, "-m", "packer_tasks", "pack"]
    code, screen = _run_on_a_terminal(cli, starter_copy)
    assert code == 0 and "5/5" in screen, screen
    # one summary line: the result's, not a lifecycle line repeating it
    assert "build finished" not in screen and screen.count("packed 5 asset") == 1, screen
