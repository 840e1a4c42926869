"""Shared helpers: real PNG/WAV inputs, the CLI as a subprocess, a copy of the starter project.

The helpers are plain functions (``from conftest import run_cli``) and also fixtures of the
same name, so a test can use whichever style it prefers.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
STARTER = REPO / "sample_projects" / "starter"
CLI = (sys.executable, "-m", "packer_tasks")
PYCACHE = Path(tempfile.gettempdir()) / f"prometeu-packer-test-pycache-{os.getuid()}"

RGB = tuple[int, int, int]
DEFAULT_COLORS: tuple[RGB, ...] = ((0, 0, 0), (255, 0, 68))


def make_png(
    path: Path, size: int | tuple[int, int] = 16, colors: Sequence[RGB] = DEFAULT_COLORS
) -> Path:
    """Write a real RGB PNG; pixel (x, y) gets ``colors[(x + y) % len(colors)]``."""
    width, height = (size, size) if isinstance(size, int) else size
    img = Image.new("RGB", (width, height))
    img.putdata([tuple(colors[(x + y) % len(colors)]) for y in range(height) for x in range(width)])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path


def make_wav(
    path: Path,
    frames: int = 64,
    rate: int = 22050,
    channels: int = 1,
    sampwidth: int = 2,
    samples: Sequence[int] | None = None,
) -> Path:
    """Write a real PCM WAV. ``samples`` (interleaved, signed; unsigned for 8-bit) default
    to a deterministic ramp."""
    if samples is None:
        span = 1 << (8 * sampwidth)
        samples = [
            (i * 97) % span - (0 if sampwidth == 1 else span // 2) for i in range(frames * channels)
        ]
    if sampwidth == 1:
        data = bytes(samples)
    elif sampwidth in (2, 4):
        data = struct.pack(f"<{len(samples)}{'h' if sampwidth == 2 else 'i'}", *samples)
    else:
        data = b"".join(v.to_bytes(sampwidth, "little", signed=True) for v in samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sampwidth)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def cli_env() -> dict[str, str]:
    """The environment for CLI subprocesses: this checkout first on the path, no debug."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PROMETEU_PACKER_DEBUG", None)
    # Each CLI process would otherwise recompile the package from source (~25% of its start):
    # keep bytecode in a cache outside the checkout instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    env.pop("PROMETEU_PACKER_CACHE", None)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


def run_cli(
    *args: str | os.PathLike[str], cwd: Path | str | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    """Run ``python -m packer_tasks ARGS`` in ``cwd``; return (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def popen_cli(
    *args: str | os.PathLike[str], cwd: Path | str | None = None
) -> subprocess.Popen[str]:
    """Start the CLI without waiting (for concurrency tests); read it with ``communicate``."""
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli_parallel(
    commands: Sequence[Sequence[str | os.PathLike[str]]],
    cwd: Path | str | None = None,
    timeout: float = 60,
) -> list[tuple[int, str, str]]:
    """Start every command at once, then wait; results in order, like ``run_cli``'s.

    A command still running after ``timeout`` seconds (from the start) is killed; its
    exit code is then negative and its stderr ends with ``TIMED OUT``.
    """
    procs = [popen_cli(*args, cwd=cwd) for args in commands]
    deadline = time.monotonic() + timeout
    results: list[tuple[int, str, str]] = []
    try:
        for p in procs:
            try:
                out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                err += "\nTIMED OUT"
            results.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def _ignore_outputs(folder: str, names: list[str]) -> set[str]:
    if Path(folder).resolve() != STARTER.resolve():
        return set()
    return {n for n in names if n in ("build", ".prometeu-cache") or n.startswith(".doit.db")}


@pytest.fixture
def starter_copy(tmp_path: Path) -> Path:
    """A private copy of sample_projects/starter without build outputs, cache or doit state."""
    dest = tmp_path / "starter"
    shutil.copytree(STARTER, dest, ignore=_ignore_outputs, symlinks=True)
    return dest


@pytest.fixture(name="make_png")
def _make_png_fixture() -> Callable[..., Path]:
    return make_png


@pytest.fixture(name="make_wav")
def _make_wav_fixture() -> Callable[..., Path]:
    return make_wav


@pytest.fixture(name="run_cli")
def _run_cli_fixture() -> Callable[..., tuple[int, str, str]]:
    return run_cli
