"""Shared helpers: real PNG/WAV inputs, the CLI (in this process or as a real process), a
copy of the starter project without its state.

The helpers are plain functions (``from conftest import run_cli``) and also fixtures of the
same name, so a test can use whichever style it prefers.

``run_cli`` runs the CLI *in this process*, through the same entry point as the console
script (``packer_tasks.cli.main``), as a fresh process would: its own working folder, the
environment a CLI subprocess gets, stdout and stderr captured, the exit code it would exit
with, and an escaping exception shown as a traceback on stderr. ``run_cli_process``,
``popen_cli`` and ``run_cli_parallel`` start real processes: use them where the test needs
one (kills, signals, crash points that SIGKILL the process, locks between processes,
concurrency between processes).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
import wave
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest
from click import formatting
from click.testing import CliRunner
from PIL import Image
from rich.console import Console

if TYPE_CHECKING:
    from packer_tasks.models.results import RuntimeState
    from packer_tasks.service import PackerService
    from packer_tasks.workspace.project import Project

REPO = Path(__file__).resolve().parent.parent
STARTER = REPO / "sample_projects" / "starter"
CLI = (sys.executable, "-m", "packer_tasks")
PYCACHE = Path(tempfile.gettempdir()) / f"prometeu-packer-test-pycache-{os.getuid()}"
# The four outputs plus the build record (SPEC §8 step 6), all published together.
OUTPUTS = (
    "assets.pa",
    "asset_table.json",
    "preload.json",
    "asset_table_metadata.json",
    ".prometeu-build.json",
)
# Variables of the developer's shell that would change what a packer command does.
PACKER_ENV = (
    "PROMETEU_PACKER_CACHE",
    "PROMETEU_PACKER_EVENTS",
    "PROMETEU_PACKER_DEBUG",
    "PROMETEU_PACKER_CRASH_AT",
    "PROMETEU_PACKER_JOBS",
    "PROMETEU_PACKER_REMOTE_CACHE",
    "PROMETEU_PACKER_REMOTE_CACHE_WRITE",
    "PROMETEU_PACKER_REMOTE_CACHE_TOKEN",
    "PROMETEU_PACKER_REMOTE_CACHE_USER",
    "PROMETEU_PACKER_REMOTE_CACHE_PASSWORD",
    "PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT",
)
# PROMETEU_TESTS_IN_PROCESS=0 makes `run_cli` (and test_doit_support's `run_doit` and
# `run_packer`) start a real process per command, as the suite once did: slower, for telling
# a difference of the in-process harness from a packer bug.
IN_PROCESS = os.environ.get("PROMETEU_TESTS_IN_PROCESS", "1") != "0"
# What a command that was killed or timed out reports as its exit code.
TIMED_OUT = -int(signal.SIGKILL)

RGB = tuple[int, int, int]
DEFAULT_COLORS: tuple[RGB, ...] = ((0, 0, 0), (255, 0, 68))
CliResult = tuple[int, str, str]
PathArg = str | os.PathLike[str]


# ------------------------------------------------------------------------------------------
# Real inputs


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


# ------------------------------------------------------------------------------------------
# Declarations and projects


def glyph_decl(
    asset_uuid: str, name: str, files: Sequence[str] = ("tile.png",), tile_size: int = 8
) -> dict[str, Any]:
    """A valid glyph bank asset.json: one tile per file, no palettes, no preload."""
    return {
        "schema_version": 1,
        "asset_uuid": asset_uuid,
        "name": name,
        "type": "glyph_bank",
        "inputs": {"tiles": list(files)},
        "artifacts": [{"index": i, "file": f} for i, f in enumerate(files)],
        "output": {
            "format": "GLYPH/indexed_v1",
            "codec": "NONE",
            "metadata": {"tile_size": tile_size},
            "pipeline": {},
        },
        "preload": {"enabled": False},
    }


def sound_decl(asset_uuid: str, name: str, files: Sequence[str] = ("a.wav",)) -> dict[str, Any]:
    """A valid sound bank asset.json: one sample per file, no preload."""
    return {
        "schema_version": 1,
        "asset_uuid": asset_uuid,
        "name": name,
        "type": "sound_bank",
        "inputs": {"samples": list(files)},
        "artifacts": [{"index": i, "file": f} for i, f in enumerate(files)],
        "output": {"format": "SOUNDS/pcm16le_v1", "codec": "NONE", "metadata": {}, "pipeline": {}},
        "preload": {"enabled": False},
    }


def ignore_state(folder: str, names: list[str]) -> set[str]:
    """Build outputs, caches, doit state, the digest memo and the write lock are never
    copied with a project (a `shutil.copytree` ignore function; applies at every level)."""
    return {
        n
        for n in names
        if n in ("build", ".prometeu-cache", "__pycache__")
        or n.startswith((".doit.db", ".digests.sqlite", ".write.lock", ".build-manifest.json"))
    }


def copy_project(src: Path, dest: Path, *, keep: Sequence[str] = ()) -> Path:
    """Copy a project without its state; `keep` names top-level state dirs to carry over
    (e.g. the cache directory, like a CI cache restore)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = ignore_state(folder, names)
        if Path(folder) == src:
            skipped -= set(keep)
        return skipped

    shutil.copytree(src, dest, ignore=ignore, symlinks=True)
    return dest


@pytest.fixture
def starter_copy(tmp_path: Path) -> Path:
    """A private copy of sample_projects/starter without build outputs, cache or doit state."""
    return copy_project(STARTER, tmp_path / "starter")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A private copy of the starter project (``tmp_path/game``), for in-process service
    tests. A test module that means another project defines its own ``project``."""
    from packer_tasks.workspace.project import Project

    return Project(copy_project(STARTER, tmp_path / "game"))


@pytest.fixture(autouse=True)
def _no_packer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's packer settings (cache folder, event stream, debug
    output, crash point): in-process service calls use each project's own default cache."""
    for name in PACKER_ENV:
        monkeypatch.delenv(name, raising=False)


def runtime_state(service: PackerService) -> RuntimeState:
    """The service's runtime state, read anew: a call, so that a type checker does not
    carry an earlier `assert ... state is X` past the operations that change it."""
    return service.runtime.state


# ------------------------------------------------------------------------------------------
# The environment of a packer command


def cli_env(**extra: str | None) -> dict[str, str]:
    """The whole environment of a packer command: this checkout first on the path, none of
    the developer's packer settings, no colour, a wide terminal. ``extra`` sets variables
    (None removes one)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name in PACKER_ENV:
        env.pop(name, None)
    # Each CLI process would otherwise recompile the package from source (~25% of its start):
    # keep bytecode in a cache outside the checkout instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


# ------------------------------------------------------------------------------------------
# Running a command in this process, as a fresh process would run it


class InProcessTimeout(BaseException):
    """Raised in the main thread when an in-process command outlives its timeout (a
    BaseException, so the packer's own `except Exception` cannot swallow it)."""


# One in-process command at a time: the working folder, os.environ and sys.stdout/stderr
# belong to the whole process.
_IN_PROCESS = threading.RLock()


@contextlib.contextmanager
def _working_folder(cwd: PathArg | None) -> Iterator[None]:
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def _render_consoles() -> list[Console]:
    """The CLI's module-level rich consoles (built once, at import)."""
    from packer_tasks.cli import render

    return [value for value in vars(render).values() if isinstance(value, Console)]


@contextlib.contextmanager
def _fresh_consoles() -> Iterator[None]:
    """Give the CLI's rich consoles what a new process would build them with: rich reads
    $COLUMNS, $LINES, $NO_COLOR and whether output is a terminal once, in the constructor,
    which ran at import in this process (under pytest's capture, the developer's terminal
    size and colours). Call inside the isolation, so they see the command's environment
    and its captured streams; the previous settings (and which standard stream each one
    follows, which `--events jsonl` switches for one command) are restored afterwards."""
    saved = []
    for console in _render_consoles():
        saved.append(
            (
                console,
                console.stderr,
                console._file,
                console._width,
                console._height,
                console.no_color,
                console._color_system,
                console.is_interactive,
            )
        )
        columns, lines = os.environ.get("COLUMNS", ""), os.environ.get("LINES", "")
        console._file = None  # follow sys.stdout / sys.stderr (the captured streams)
        console._width = int(columns) if columns.isdigit() else None
        console._height = int(lines) if lines.isdigit() else None
        console.no_color = os.environ.get("NO_COLOR", "") != ""
        console._color_system = console._detect_color_system()
        console.is_interactive = console.is_terminal and not console.is_dumb_terminal
    try:
        yield
    finally:
        for console, stderr, file, width, height, no_color, colours, interactive in saved:
            console.stderr, console._file = stderr, file
            console._width, console._height = width, height
            console.no_color, console._color_system = no_color, colours
            console.is_interactive = interactive


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise InProcessTimeout in the main thread after `seconds` (no-op in other threads)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise InProcessTimeout(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def exit_status(exc: SystemExit) -> int:
    """The status a process exits with for `SystemExit(code)` (a non-int code is printed
    to stderr and exits 1, as the interpreter does)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def call_in_process(
    main: Callable[[], int | None],
    *,
    cwd: PathArg | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> CliResult:
    """Run `main()` as the main function of a fresh process would run: in `cwd`, with
    exactly the environment `env` (default: `cli_env()`), stdout and stderr captured.
    Returns (exit code, stdout, stderr): main's return value or SystemExit code; an
    exception that escapes prints its traceback to stderr and exits 1, like the interpreter.
    After `timeout` seconds the command is interrupted: exit TIMED_OUT, stderr ends with
    ``TIMED OUT``."""
    whole = cli_env() if env is None else dict(env)
    changes: dict[str, str | None] = {k: None for k in os.environ if k not in whole}
    changes.update(whole)
    with (
        _IN_PROCESS,
        _working_folder(cwd),
        CliRunner().isolation(env=changes) as (out, err, _mixed),
        _fresh_consoles(),
    ):
        # click sizes help from the terminal ($COLUMNS) in a process; CliRunner pins it to 80.
        formatting.FORCED_WIDTH = None
        try:
            with _deadline(timeout):
                status = main() or 0
        except SystemExit as exc:
            status = exit_status(exc)
        except InProcessTimeout:
            traceback.print_exc()
            sys.stderr.write("\nTIMED OUT")
            status = TIMED_OUT
        except Exception:
            traceback.print_exc()
            status = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return status, stdout, stderr


# ------------------------------------------------------------------------------------------
# The CLI


def run_cli(*args: PathArg, cwd: PathArg | None = None, timeout: float = 60) -> CliResult:
    """`prometeu-packer ARGS` in `cwd`, in this process; (exit code, stdout, stderr)."""
    if not IN_PROCESS:
        return run_cli_process(*args, cwd=cwd, timeout=timeout)
    from packer_tasks.cli import main

    argv = [str(a) for a in args]
    return call_in_process(lambda: main(argv), cwd=cwd, timeout=timeout)


def cli_json(project: Path, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """`prometeu-packer --project PROJECT ARGS --json` in this process, from the repository
    root: the exit code and the printed result model."""
    code, out, err = run_cli("--project", str(project), *args, "--json", cwd=REPO, timeout=timeout)
    try:
        result: dict[str, Any] = json.loads(out)
    except ValueError:
        raise AssertionError(f"{args}: exit {code}, no JSON: {out!r} {err!r}") from None
    return code, result


def checked_json(*args: str, cwd: Path, code: int = 0) -> dict[str, Any]:
    """`prometeu-packer ARGS --json` in `cwd`: it must exit `code` without a traceback;
    the printed result model."""
    rc, out, err = run_cli(*args, "--json", cwd=cwd)
    assert "Traceback" not in out + err
    assert rc == code, f"{args}: exit {rc}\n{out}\n{err}"
    result: dict[str, Any] = json.loads(out)
    return result


def run_cli_each(
    commands: Sequence[Sequence[PathArg]], cwd: PathArg | None = None, timeout: float = 60
) -> list[CliResult]:
    """``run_cli`` for each command, one after another; results in order."""
    return [run_cli(*args, cwd=cwd, timeout=timeout) for args in commands]


def run_cli_process(*args: PathArg, cwd: PathArg | None = None, timeout: float = 60) -> CliResult:
    """`python -m packer_tasks ARGS` as a real process in `cwd`; like ``run_cli``."""
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
    *args: PathArg, cwd: PathArg | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start the CLI as a real process without waiting (for concurrency tests); read it
    with ``communicate``."""
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=cli_env() if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# Imports the CLI once, forks one child per command (each a real process with its own
# stdin, stdout and stderr files, working folder, file descriptors and locks), holds every
# child at a start barrier until all exist, then releases them at the same instant and
# reports how each ended. Interpreter start-up and imports (~0.5 s per process) would
# otherwise spread the processes out so much that their millisecond-long critical sections
# rarely overlap, and cost that much CPU per command.
_FORK_LAUNCHER = r"""
import json, os, signal, sys, time, traceback
from packer_tasks.cli import main

req = json.loads(sys.stdin.read())
go_r, go_w = os.pipe()
children = []
for cmd in req["commands"]:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(go_w)
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(cmd["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            err = os.open(cmd["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for fd, target in ((null, 0), (out, 1), (err, 2)):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(req["cwd"])
            sys.argv = ["prometeu-packer", *cmd["argv"]]
            os.read(go_r, 1)  # the barrier: EOF once the launcher closes its end
            os.close(go_r)
            try:
                main(cmd["argv"])
                code = 0
            except SystemExit as exc:
                if exc.code is None:
                    code = 0
                elif isinstance(exc.code, int):
                    code = exc.code
                else:
                    print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    children.append(pid)
os.close(go_r)
os.close(go_w)
deadline = time.monotonic() + req["timeout"]
ended, timed_out = {}, set()
while len(ended) < len(children):
    for pid in children:
        if pid not in ended:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended[pid] = status
    if len(ended) < len(children) and time.monotonic() > deadline:
        for pid in children:
            if pid not in ended:
                os.kill(pid, signal.SIGKILL)
                ended[pid] = os.waitpid(pid, 0)[1]
                timed_out.add(pid)
    time.sleep(0.002)
print(json.dumps([
    {"code": os.waitstatus_to_exitcode(ended[pid]), "timed_out": pid in timed_out}
    for pid in children
]))
"""


def run_cli_parallel(
    commands: Sequence[Sequence[PathArg]],
    cwd: PathArg | None = None,
    timeout: float = 60,
) -> list[CliResult]:
    """Run every command as its own real CLI process, all released at the same instant
    (forked from one interpreter that imported the CLI; see ``_FORK_LAUNCHER``); results
    in order, like ``run_cli``'s. A process killed by a signal has a negative exit code; one
    still running `timeout` seconds after the start is killed, and its stderr ends with
    ``TIMED OUT``."""
    with tempfile.TemporaryDirectory(prefix="prometeu-fork-") as scratch:
        files = [
            (Path(scratch, f"{i}.out"), Path(scratch, f"{i}.err")) for i in range(len(commands))
        ]
        request = {
            "cwd": os.path.abspath(cwd if cwd is not None else os.getcwd()),
            "timeout": timeout,
            "commands": [
                {"argv": [str(a) for a in args], "out": str(out), "err": str(err)}
                for args, (out, err) in zip(commands, files, strict=True)
            ],
        }
        launcher = subprocess.run(
            [sys.executable, "-c", _FORK_LAUNCHER],
            input=json.dumps(request),
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            check=False,
        )
        assert launcher.returncode == 0, f"the fork launcher failed:\n{launcher.stderr}"
        ended = json.loads(launcher.stdout)
        results: list[CliResult] = []
        for (out, err), end in zip(files, ended, strict=True):
            stderr = err.read_text("utf-8", errors="replace") if err.exists() else ""
            if end["timed_out"]:
                stderr += "\nTIMED OUT"
            stdout = out.read_text("utf-8", errors="replace") if out.exists() else ""
            results.append((end["code"], stdout, stderr))
    return results


# ------------------------------------------------------------------------------------------
# Fixtures of the same names


@pytest.fixture(name="make_png")
def _make_png_fixture() -> Callable[..., Path]:
    return make_png


@pytest.fixture(name="make_wav")
def _make_wav_fixture() -> Callable[..., Path]:
    return make_wav


@pytest.fixture(name="run_cli")
def _run_cli_fixture() -> Callable[..., CliResult]:
    return run_cli


def pytest_configure(config: pytest.Config) -> None:
    """Reliability counters add up across processes (also under pytest-xdist)."""
    from test_reliability_support import counts_reporter

    config.pluginmanager.register(counts_reporter(), "prometeu-reliability-counts")
