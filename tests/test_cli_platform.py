"""Platform-neutral locks and paths (issue 13): the packer imports without `fcntl` (the
write lane is portalocker's shared/exclusive lock), the lane's timeouts and failures read
as before, and registry roots stay '/'-separated whatever a person types."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import REPO, cli_env, run_cli

from packer_tasks.workspace.lane import LaneBusy, read_lane, write_lane

POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource"}


def test_no_module_imports_a_posix_only_module() -> None:
    found = []
    for path in [*(REPO / "packer_tasks").rglob("*.py"), *(REPO / "cache").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            found += [f"{path.relative_to(REPO)}: {n}" for n in names if n in POSIX_ONLY]
    assert found == []


HOLDER = """
import sys, time
from pathlib import Path
from packer_tasks.workspace.lane import write_lane, read_lane
lane = write_lane if sys.argv[2] == "write" else read_lane
with lane(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def hold(lock: Path, kind: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), kind, str(seconds)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_shared_and_exclusive_between_processes(tmp_path: Path) -> None:
    lock = tmp_path / "assets/.prometeu/.write.lock"
    reader = hold(lock, "read", 3)
    try:
        with read_lane(lock, timeout=2):  # shared + shared: together
            pass
        start = time.monotonic()
        # exclusive waits for the reader, then gives up
        with pytest.raises(LaneBusy), write_lane(lock, timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.3
    finally:
        reader.wait(timeout=30)
    writer = hold(lock, "write", 3)
    try:
        with pytest.raises(LaneBusy), read_lane(lock, timeout=0.3):
            pass
    finally:
        writer.wait(timeout=30)
    with write_lane(lock, timeout=2):  # released with its process
        pass


def test_a_lock_that_fails_outright_is_an_os_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portalocker.exceptions import LockException

    def broken(fd: object, flags: object) -> None:
        raise LockException("locking is not supported here")

    import portalocker

    monkeypatch.setattr(portalocker, "lock", broken)
    lock = tmp_path / ".write.lock"
    with pytest.raises(OSError, match="not supported"), write_lane(lock, timeout=1):
        pass
    with read_lane(lock, timeout=1):  # a reader carries on without the lock, as on a
        pass  # read-only checkout


def test_python_versions_are_declared() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    versions = {c.rsplit(" ", 1)[-1] for c in meta["classifiers"] if ":: Python :: 3." in c}
    assert versions == {"3.11", "3.12", "3.13"}
    assert meta["requires-python"] == ">=3.11"


def test_roots_stay_slash_separated(tmp_path: Path) -> None:
    from conftest import make_png

    game = tmp_path / "game"
    game.mkdir()
    assert run_cli("init", cwd=game)[0] == 0
    png = make_png(tmp_path / "a.png", 16)
    # a root typed the Windows way is stored the registry's way
    assert run_cli("new", "glyph_bank", "ui\\hud", str(png), cwd=game)[0] == 0
    registry = json.loads((game / "assets/.prometeu/index.json").read_text())
    assert [e["root"] for e in registry["assets"]] == ["ui/hud"]
    rc, out, _ = run_cli("show", "ui\\hud", "--json", cwd=game)
    assert rc == 0 and json.loads(out)["asset"]["root"] == "ui/hud"
