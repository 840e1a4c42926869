"""Shared machinery of the reliability and fuzz suites (plus self-tests of that machinery).

* ``HEAVY`` — ``PROMETEU_HEAVY=1`` turns on the heavier variants (more seeds and examples).
* ``Zygote`` — a process that has imported the packer once and then *forks* one real CLI
  process per request (``packer_tasks.cli.main(argv)`` in a fresh process, with its own
  file descriptors and locks). A fork costs milliseconds instead of the ~0.5 s interpreter
  start-up, so kill and concurrency tests can afford many seeds. It can SIGKILL the child
  after an exact delay, which is how the kill tests hit random instants *inside* the
  operation rather than during imports.
* ``build_problems`` — an independent check that ``build/`` holds one complete, coherent
  output set (reader-clean ``assets.pa``, companions that match its header, tooling
  metadata whose payload digests match the payload bytes, nothing else in the folder).
* ``count`` — fault/fuzz counters; the totals (added up across pytest-xdist workers) are
  printed at the end of the run and written to ``reliability_counts.json`` in a temp folder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
from conftest import REPO, cli_env, make_png, make_wav
from conftest import glyph_decl as glyph_decl  # re-exported for the reliability suites
from conftest import sound_decl as sound_decl

from packer_tasks.artifact.reader import read_assets_pa
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

HEAVY = os.environ.get("PROMETEU_HEAVY", "") not in ("", "0")

# Mutation testing of this suite: a Python file that breaks the packer on purpose (e.g. a
# non-atomic registry write), run in this process and in every zygote before any test.
# The suite must then fail; see the report that introduced these tests.
PRELUDE_ENV = "PROMETEU_RELIABILITY_PRELUDE"
if os.environ.get(PRELUDE_ENV):
    exec(Path(os.environ[PRELUDE_ENV]).read_text(), {"__name__": "reliability_prelude"})
OUTPUT_NAMES = ("assets.pa", "asset_table.json", "preload.json", "asset_table_metadata.json")
RECORD = ".prometeu-build.json"  # the build record, published with the outputs

# ------------------------------------------------------------------------------------------
# Counters of injected faults and fuzzed inputs


COUNTS: Counter[str] = Counter()
_COUNTS_LOCK = threading.Lock()


def count(category: str, n: int = 1) -> None:
    with _COUNTS_LOCK:
        COUNTS[category] += n


COUNTS_DIR_ENV = "PROMETEU_TEST_COUNTS_DIR"


class CountsReporter:
    """A pytest plugin (registered by conftest's `pytest_configure`): each process saves
    its counters when its session ends; the process that reports (the only one, or the
    pytest-xdist controller) adds them up, prints them and saves the total."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def pytest_sessionfinish(self) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        if COUNTS:
            (self.folder / f"counts-{worker}.json").write_text(json.dumps(dict(COUNTS)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total: Counter[str] = Counter()
        for part in sorted(self.folder.glob("counts-*.json")):
            total.update(json.loads(part.read_text()))
        if not total:
            return
        path = self.folder / "reliability_counts.json"
        data = {"heavy": HEAVY, "counts": dict(sorted(total.items()))}
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        terminalreporter.write_sep("-", "reliability: faults injected / inputs fuzzed")
        for key, value in sorted(total.items()):
            terminalreporter.write_line(f"{key:<48} {value:>8}")
        terminalreporter.write_line(f"(saved to {path})")


def counts_reporter() -> CountsReporter:
    """The plugin for this process; the first process (not an xdist worker) picks the
    folder every worker writes into."""
    folder = os.environ.get(COUNTS_DIR_ENV)
    if not folder:
        folder = os.environ[COUNTS_DIR_ENV] = tempfile.mkdtemp(prefix="prometeu-test-counts-")
    return CountsReporter(Path(folder))


# ------------------------------------------------------------------------------------------
# Projects


PALETTE = [
    (0, 0, 0),
    (255, 0, 68),
    (0, 200, 80),
    (40, 40, 255),
    (255, 255, 255),
    (200, 120, 0),
    (120, 0, 200),
    (0, 160, 160),
]


def service_for(root: Path, **kw: Any) -> PackerService:
    return PackerService(Project(root), **kw)


def build_project(
    root: Path,
    *,
    glyphs: int = 2,
    tiles: int = 3,
    tile_size: int = 8,
    sounds: int = 1,
    wav_frames: int = 64,
    wav_channels: int = 1,
    seed: int = 0,
) -> PackerService:
    """A fresh, valid project built in-process: `glyphs` glyph banks and `sounds` sound
    banks (registered, included), with deterministic but distinct contents."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    svc = service_for(root)
    assert svc.init_workspace().status.value == "success"
    scratch = root.parent / f".{root.name}-inputs"
    for g in range(glyphs):
        files = []
        for t in range(tiles):
            colors = rng.sample(PALETTE, k=rng.randint(2, 4))
            files.append(make_png(scratch / f"g{g}" / f"t{t:03d}.png", tile_size, colors))
        res = svc.create_asset(
            "glyph_bank", f"gfx/bank_{g}", files, {"tile_size": tile_size}, preload=(g == 0)
        )
        assert res.status.value == "success", res.summary
    for s in range(sounds):
        rate = rng.choice([11025, 22050, 44100])
        f = make_wav(
            scratch / f"s{s}" / f"snd_{s}.wav",
            frames=wav_frames,
            rate=rate,
            channels=wav_channels,
            samples=[rng.randint(-30000, 30000) for _ in range(wav_frames * wav_channels)],
        )
        res = svc.create_asset("sound_bank", f"sfx/snd_{s}", [f], {})
        assert res.status.value == "success", res.summary
    return svc


def write_unregistered_root(assets_dir: Path, rel: str, *, seed: int = 0) -> str:
    """An asset root with a valid glyph declaration and one tile, not in the registry."""
    folder = assets_dir.joinpath(*rel.split("/"))
    make_png(folder / "tile.png", 8, PALETTE[seed % 4 : seed % 4 + 2])
    decl = glyph_decl(str(uuid.uuid4()), rel.rsplit("/", 1)[-1])
    (folder / "asset.json").write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")
    return rel


# ------------------------------------------------------------------------------------------
# Build folder checks


def canonical_pretty(value: Any) -> bytes:
    """SPEC §3/§5 spelling of committed/companion files, written independently."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def read_build(build: Path) -> dict[str, bytes]:
    """The regular files directly in build/ (name → bytes); `.staging` is not descended."""
    if not build.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in build.iterdir() if p.is_file()}


def build_problems(build: Path, *, allow_staging: bool = False) -> list[str]:
    """Everything that keeps build/ from being one complete, coherent output set."""
    problems: list[str] = []
    if not build.is_dir():
        return ["build/ does not exist"]
    entries = {p.name for p in build.iterdir()}
    if ".staging" in entries and not allow_staging:
        problems.append(f"build/.staging is left: {sorted(os.listdir(build / '.staging'))}")
    missing = {*OUTPUT_NAMES, RECORD} - entries
    stray = entries - {*OUTPUT_NAMES, RECORD} - {".staging"}
    if missing:
        problems.append(f"missing outputs {sorted(missing)}")
    if stray:
        problems.append(f"stray files in build/: {sorted(stray)}")
    if missing:
        return problems
    files = read_build(build)
    record = json.loads(files[RECORD])
    for name in OUTPUT_NAMES:
        fact = record["outputs"][name]
        if fact != {"blake3": blake3.blake3(files[name]).hexdigest(), "size": len(files[name])}:
            problems.append(f"{RECORD} does not describe {name} (record from another pack)")
    pa = read_assets_pa(files["assets.pa"])
    if pa.problems:
        problems.append(f"assets.pa reader problems: {pa.codes}")
    if pa.header is None:
        return problems
    for name, part in (("asset_table.json", "asset_table"), ("preload.json", "preload")):
        try:
            value = json.loads(files[name])
        except ValueError:
            problems.append(f"{name} is not JSON")
            continue
        if value != pa.header.get(part):
            problems.append(f"{name} does not match the assets.pa header ({part})")
        elif files[name] != canonical_pretty(value):
            problems.append(f"{name} is not canonically spelled")
    try:
        meta = json.loads(files["asset_table_metadata.json"])
        tooling = meta["assets"]
        tooling_ids = [a["asset_id"] for a in tooling]
    except (ValueError, KeyError, TypeError):
        problems.append("asset_table_metadata.json is unreadable")
        return problems
    header_ids = [e.get("asset_id") for e in pa.asset_table if isinstance(e, dict)]
    if tooling_ids != header_ids:
        problems.append(f"tooling metadata lists {tooling_ids}, header lists {header_ids}")
    elif pa.ok:
        for a in tooling:
            try:
                digest = blake3.blake3(pa.payload(a["asset_id"])).hexdigest()
            except KeyError:
                problems.append(f"asset {a['asset_id']}: payload unreadable")
                continue
            if digest != a.get("payload_blake3"):
                problems.append(
                    f"asset {a['asset_id']}: payload digest differs from "
                    "asset_table_metadata.json (companions from another pack)"
                )
    return problems


def assert_coherent(build: Path, *, allow_staging: bool = False) -> dict[str, bytes]:
    problems = build_problems(build, allow_staging=allow_staging)
    assert not problems, f"build/ is not one coherent set: {problems}"
    return read_build(build)


def which_set(files: dict[str, bytes], candidates: dict[str, dict[str, bytes]]) -> str | None:
    """The name of the candidate set `files` equals byte for byte (None: a mix or unknown)."""
    for name, expected in candidates.items():
        if files == expected:
            return name
    return None


# ------------------------------------------------------------------------------------------
# The zygote: fork real CLI processes cheaply, and kill them at exact instants


_ZYGOTE_SRC = r"""
import json, os, signal, sys, time, traceback
import packer_tasks.cli
import packer_tasks.doctor  # imported lazily by some commands; warm it up too
from packer_tasks.cli import main
if os.environ.get("PROMETEU_RELIABILITY_PRELUDE"):
    with open(os.environ["PROMETEU_RELIABILITY_PRELUDE"]) as fh:
        exec(fh.read(), {"__name__": "reliability_prelude"})

proto_in = sys.stdin.buffer
proto_out = os.fdopen(os.dup(1), "w")
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 1)
proto_out.write("ready\n"); proto_out.flush()

def child(req):
    try:
        os.close(proto_out.fileno())
        os.dup2(_null, 0)
        fo = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fe = os.open(req["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fo, 1); os.dup2(fe, 2); os.close(fo); os.close(fe)
        os.chdir(req["cwd"])
        os.environ.update(req.get("env") or {})
        if req.get("prelude"):
            exec(req["prelude"], {"__name__": "prelude"})
        sys.argv = ["prometeu-packer", *req["argv"]]
        code = 0
        try:
            main(req["argv"])
        except SystemExit as exc:
            c = exc.code
            code = c if isinstance(c, int) else (0 if c is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush(); sys.stderr.flush()
    finally:
        os._exit(code)

while True:
    line = proto_in.readline()
    if not line:
        break
    req = json.loads(line)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req)
    delay, timeout = req.get("delay"), req.get("timeout") or 60.0
    killed = timed_out = False
    status = None
    start = t0
    watch, watch_limit = req.get("watch") or [], req.get("watch_limit") or timeout

    def signature(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    initial = [signature(p) for p in watch]
    if delay is not None and watch:  # the delay counts from when a watched path changes
        while ([signature(p) for p in watch] == initial
               and time.monotonic() - t0 < watch_limit):
            r, st = os.waitpid(pid, os.WNOHANG)
            if r:
                status = st
                break
            time.sleep(0.0002)
        start = time.monotonic()
    if delay is not None and status is None:
        time.sleep(max(0.0, start + delay - time.monotonic()))
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            status = st
        else:
            os.kill(pid, signal.SIGKILL)
            killed = True
    while status is None:
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            status = st
            break
        if time.monotonic() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            timed_out = True
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.001)
    proto_out.write(json.dumps({
        "pid": pid, "killed": killed and os.WIFSIGNALED(status), "timed_out": timed_out,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "elapsed": time.monotonic() - t0, "t0": t0}) + "\n")
    proto_out.flush()
"""


@dataclass
class Run:
    """One forked CLI run: how it ended, and what it printed."""

    exit: int | None
    signal: int | None
    killed: bool
    timed_out: bool
    elapsed: float
    stdout: str
    stderr: str
    t0: float = 0.0  # time.monotonic() of the fork (CLOCK_MONOTONIC: same clock everywhere)

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.stdout)
        except ValueError:
            raise AssertionError(
                f"stdout is not one JSON document: {self.stdout[:400]!r} "
                f"(stderr {self.stderr[-400:]!r})"
            ) from None
        assert isinstance(value, dict), value
        return value


class Zygote:
    """See the module docstring. One request at a time (use one zygote per thread)."""

    def __init__(self, scratch: Path, *, readonly: Path | None = None) -> None:
        """With `readonly`, the zygote (and so every child) lives in a private mount
        namespace where that folder is a read-only bind mount (see run_cli_readonly)."""
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self._n = 0
        cmd = [sys.executable, "-c", _ZYGOTE_SRC]
        if readonly is not None:
            cmd = [*_READONLY_PREFIX, str(readonly), *cmd]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        assert ready.strip() == "ready", f"zygote failed to start: {ready!r}"

    def run(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        delay: float | None = None,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
        prelude: str | None = None,
        watch: Sequence[Path] = (),
        watch_limit: float | None = None,
    ) -> Run:
        """Run `prometeu-packer ARGV` in `cwd`; SIGKILL it `delay` seconds after the fork
        (or, with `watch`, `delay` seconds after one of those paths appears, disappears or
        changes, or after `watch_limit` seconds if none has by then). `prelude` is Python
        run in the child first (fault-injection hooks)."""
        self._n += 1
        out, err = self.scratch / f"{self._n}.out", self.scratch / f"{self._n}.err"
        req = {
            "argv": list(map(str, argv)),
            "cwd": str(cwd),
            "delay": delay,
            "timeout": timeout,
            "env": env or {},
            "out": str(out),
            "err": str(err),
            "prelude": prelude,
            "watch": [str(p) for p in watch],
            "watch_limit": watch_limit,
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        rep = json.loads(line)
        texts = []
        for f in (out, err):  # a child killed at once may not have created them yet
            texts.append(f.read_text(errors="replace") if f.exists() else "")
            f.unlink(missing_ok=True)
        stdout, stderr = texts
        return Run(
            rep["exit"],
            rep["signal"],
            rep["killed"],
            rep["timed_out"],
            rep["elapsed"],
            stdout,
            stderr,
            rep["t0"],
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def assert_clean_exit(run: Run, what: str) -> None:
    """Exit 0, or 1 with a diagnostic; never a traceback or an internal error."""
    assert not run.timed_out, f"{what}: hung (a stale lock?) stderr={run.stderr[-600:]}"
    assert run.signal is None, f"{what}: died of signal {run.signal}"
    assert run.exit in (0, 1), (
        f"{what}: exit {run.exit}\nstdout={run.stdout[-800:]}\nstderr={run.stderr[-800:]}"
    )
    assert "Traceback" not in run.stderr + run.stdout, f"{what}: traceback\n{run.stderr}"
    assert "internal error" not in run.stderr, f"{what}: {run.stderr[-600:]}"


# ------------------------------------------------------------------------------------------
# Real read-only mounts (a private mount namespace, so nothing leaks if a test dies)


def readonly_runner_available() -> bool:
    if os.geteuid() != 0 or not _which("unshare") or not _which("mount"):
        return False
    probe = subprocess.run(
        [*_READONLY_PREFIX, "/tmp", "sh", "-c", "! touch /tmp/.prometeu-ro-probe 2>/dev/null"],
        capture_output=True,
        check=False,
        timeout=20,
    )
    return probe.returncode == 0


def _which(name: str) -> bool:
    return any(Path(p, name).exists() for p in os.environ.get("PATH", "").split(os.pathsep))


_READONLY_PREFIX = (
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
    "sh",
)


def run_cli_readonly(
    readonly: Path, args: Sequence[str], cwd: Path, timeout: float = 60
) -> tuple[int, str, str]:
    """Run the real CLI with `readonly` bind-mounted read-only (EROFS for every write)."""
    cmd = [*_READONLY_PREFIX, str(readonly), sys.executable, "-m", "packer_tasks", *map(str, args)]
    proc = subprocess.run(
        cmd, cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


# ------------------------------------------------------------------------------------------
# Misc


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` (relative POSIX path → bytes)."""
    out: dict[str, bytes] = {}
    if not folder.exists():
        return out
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            p = Path(dirpath, name)
            if p.is_file():
                out[p.relative_to(folder).as_posix()] = p.read_bytes()
    return out


# ------------------------------------------------------------------------------------------
# Self-tests: the checkers above must catch what they are meant to catch


def test_build_checker_accepts_a_pack_and_rejects_mixes(tmp_path: Path) -> None:
    svc = build_project(tmp_path / "game", glyphs=2, sounds=1)
    assert svc.pack().status.value == "success"
    build = tmp_path / "game" / "build"
    first = assert_coherent(build)
    assert svc.exclude_asset_from_build(1).status.value == "success"
    assert svc.pack().status.value == "success"
    second = assert_coherent(build)
    assert first != second
    # A mix of two coherent sets is not coherent.
    (build / "asset_table.json").write_bytes(first["asset_table.json"])
    assert build_problems(build)
    (build / "asset_table.json").write_bytes(second["asset_table.json"])
    (build / "asset_table_metadata.json").write_bytes(first["asset_table_metadata.json"])
    assert build_problems(build)
    (build / "asset_table_metadata.json").write_bytes(second["asset_table_metadata.json"])
    # A torn assets.pa is not coherent; neither is a leftover staging folder.
    (build / "assets.pa").write_bytes(second["assets.pa"][:-7])
    assert build_problems(build)
    (build / "assets.pa").write_bytes(second["assets.pa"])
    (build / ".staging").mkdir()
    assert build_problems(build) and not build_problems(build, allow_staging=True)
    assert which_set(read_build(build), {"first": first, "second": second}) == "second"


def test_zygote_runs_and_kills(tmp_path: Path) -> None:
    game = tmp_path / "game"
    build_project(game, glyphs=1, sounds=0)
    with Zygote(tmp_path / "z") as z:
        ok = z.run(["list", "--json"], game)
        assert ok.exit == 0 and ok.json()["status"] == "success"
        killed = z.run(["list", "--json"], game, delay=0.0)
        assert killed.killed and killed.signal == signal.SIGKILL
