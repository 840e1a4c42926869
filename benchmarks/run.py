"""Benchmark `doit pack` and the packer CLI on generated projects of several sizes.

For each size one tree is generated and every step runs as a subprocess (wall time, plus
the child's CPU time and peak RSS from `os.wait4`):

    cold doit pack        no cache, no doit state, no build/
    no-op doit pack       nothing changed
    one-asset edit        one PNG pixel recoloured with a palette colour, then doit pack
    MD5 checker cold/no-op  doit's default `md5` file checker (own dep file), empty cache,
                          no build/: the cold doit build of the edited state
    edit reverted         the PNG restored, then doit pack (a cache hit for that asset)
    fresh checkout        the tree copied with only its cache dir, then doit pack
    no-cache pack         prometeu-packer --no-cache pack
    naive full repack     build/ deleted, then prometeu-packer --no-cache pack
    summary / validate / doctor --workspace
    start-up floor        python -c 'import packer_tasks.dodo'

plus two in-process floors on the same inputs (asset.json + PNG/WAV): `os.stat` of every
file, and read + blake3 of every file. Builds of the same input state must give
byte-identical build/assets.pa (asserted).

    python benchmarks/run.py --sizes 100,1000,5000 [--quick] [--out benchmarks/out]
    python benchmarks/run.py --report-only --commit-results   # RESULTS.md from saved JSON
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from blake3 import blake3
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

BIN = Path(sys.executable).parent
DOIT = str(BIN / "doit")
PACKER = str(BIN / "prometeu-packer")
HERE = Path(__file__).resolve().parent
CACHE_DIR = ".prometeu-cache"
MD5_DODO = "dodo_md5.py"
MD5_DEP_FILE = ".doit-md5.db"
MD5_DODO_TEXT = f'''"""doit pack with doit's default MD5 file checker (benchmark only)."""
from packer_tasks.dodo import *  # noqa: F401,F403
from packer_tasks.dodo import DOIT_CONFIG as _BASE

DOIT_CONFIG = {{**_BASE, "check_file_uptodate": "md5", "dep_file": "{MD5_DEP_FILE}"}}
'''
SCRUBBED_ENV = ("PROMETEU_PACKER_CACHE", "PROMETEU_PACKER_EVENTS", "PROMETEU_PACKER_DEBUG")
PACKED_RE = re.compile(
    r"packed (\d+) asset\(s\): (\d+) cache hit\(s\), (\d+) miss\(es\)"
    r"(?:, (\d+) up-to-date)?, ([\d.]+) ?(s|ms)"
)
UP_TO_DATE_RE = re.compile(
    r"build/assets\.pa is up to date: (\d+) asset\(s\), (\d+) cache hit\(s\), "
    r"(\d+) miss\(es\), (\d+) up-to-date, ([\d.]+)s"
)

# Row order and labels of the report.
STEPS: list[tuple[str, str]] = [
    ("cold", "cold `doit pack`"),
    ("noop", "no-op `doit pack`"),
    ("edit", "one-asset edit → `doit pack`"),
    ("md5_cold", "MD5 checker: cold `doit pack`"),
    ("md5_noop", "MD5 checker: no-op `doit pack`"),
    ("revert", "edit reverted → `doit pack` (cache hit)"),
    ("fresh", "fresh checkout + cache → `doit pack`"),
    ("no_cache", "`prometeu-packer --no-cache pack`"),
    ("naive", "naive full repack (rm build/, --no-cache pack)"),
    ("summary", "`prometeu-packer summary`"),
    ("validate", "`prometeu-packer validate`"),
    ("doctor", "`prometeu-packer doctor --workspace`"),
    ("startup", "startup floor (python -c 'import packer_tasks.dodo')"),
]
FLOORS: list[tuple[str, str]] = [
    ("stat_floor", "stat floor: os.stat every input (in-process)"),
    ("hash_floor", "hash floor: read + blake3 every input (in-process)"),
]


@dataclass
class Step:
    """One measured subprocess (or an in-process floor when `argv` is empty)."""

    name: str
    wall_s: float | None = None
    peak_rss_mib: float | None = None
    cpu_s: float | None = None  # user + system CPU of the child (less load-sensitive than wall)
    exit_code: int | None = None
    argv: list[str] = field(default_factory=list)
    packed: int | None = None
    hits: int | None = None
    misses: int | None = None
    up_to_date: int | None = None
    reported_s: float | None = None
    summary_line: str | None = None
    state: str | None = None  # packs only: the input state built ("original" / "edited")
    assets_pa_blake3: str | None = None
    note: str | None = None


def parse_summary(text: str) -> dict[str, Any]:
    """Counts from doit's (or the CLI's) one-line pack summary; {} when there is none."""
    for line in reversed(text.splitlines()):
        m = UP_TO_DATE_RE.search(line)
        if m:
            _n, hits, misses, utd, secs = m.groups()
            return {
                "packed": 0,
                "hits": int(hits),
                "misses": int(misses),
                "up_to_date": int(utd),
                "reported_s": float(secs),
                "summary_line": line.strip(),
            }
        m = PACKED_RE.search(line)
        if m:
            packed, hits, misses, utd, amount, unit = m.groups()
            secs = float(amount) / (1000 if unit == "ms" else 1)
            return {
                "packed": int(packed),
                "hits": int(hits),
                "misses": int(misses),
                "up_to_date": int(utd) if utd is not None else None,
                "reported_s": secs,
                "summary_line": line.strip(),
            }
    return {}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without packer overrides (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "200"  # rich must not wrap the summary line
    env.update(extra or {})
    return env


def measure(
    name: str,
    argv: Sequence[str],
    cwd: Path,
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600.0,
    ok_codes: Sequence[int] = (0,),
) -> Step:
    """Run argv, wait for it with os.wait4, and return wall time and the child's peak RSS."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env or child_env(),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    text = out_path.read_text("utf-8", "replace") + err_path.read_text("utf-8", "replace")
    step = Step(
        name, round(wall, 3), round(usage.ru_maxrss / 1024, 1), exit_code=code, argv=list(argv)
    )
    step.cpu_s = round(usage.ru_utime + usage.ru_stime, 3)
    for key, value in parse_summary(text).items():
        setattr(step, key, value)
    if code not in ok_codes:
        tail = "\n".join(text.strip().splitlines()[-20:])
        raise RuntimeError(f"step {name} exited {code} ({' '.join(argv)}):\n{tail}")
    return step


def input_files(project: Path) -> list[str]:
    """Every asset.json and PNG/WAV input under assets/ (the registry's folder excluded)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(project / "assets"):
        dirnames[:] = sorted(d for d in dirnames if d != ".prometeu")
        out += [
            os.path.join(dirpath, f)
            for f in sorted(filenames)
            if f == "asset.json" or f.endswith((".png", ".wav"))
        ]
    return out


def stat_all(paths: Sequence[str]) -> int:
    return sum(os.stat(p).st_size for p in paths)


def hash_all(paths: Sequence[str]) -> int:
    total = 0
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        blake3(data).hexdigest()
        total += len(data)
    return total


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return round(best, 4)


def assets_pa_digest(project: Path) -> str:
    return blake3((project / "build" / "assets.pa").read_bytes()).hexdigest()


def pick_edit(project: Path) -> tuple[Path, bytes, bytes]:
    """An RGBA tile of a glyph bank with a declared palette: (path, old bytes, new bytes).

    The new PNG recolours one opaque pixel with another colour of palette 0.
    """
    registry = json.loads((project / "assets/.prometeu/index.json").read_text("utf-8"))
    entries = registry["assets"]
    for entry in entries[len(entries) // 2 :] + entries[: len(entries) // 2]:
        root = project / "assets" / entry["root"]
        decl = json.loads((root / "asset.json").read_text("utf-8"))
        palettes = decl["output"]["pipeline"].get("palettes")
        if decl["type"] != "glyph_bank" or not palettes:
            continue
        path = root / decl["inputs"]["tiles"][0]
        img = Image.open(path)
        if img.mode != "RGBA":
            continue
        colours = [c for c in palettes[0]["palette"]["colors"][1:]]
        rgb = [(int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)) for c in colours]
        size = img.size[0]
        xy = (size // 2, size // 2)
        current = img.getpixel(xy)
        new = next(c for c in rgb if (*c, 255) != current)
        img.putpixel(xy, (*new, 255))
        old_bytes = path.read_bytes()
        tmp = path.with_suffix(".tmp.png")
        img.save(tmp, format="PNG", compress_level=1)
        new_bytes = tmp.read_bytes()
        tmp.unlink()
        assert new_bytes != old_bytes
        return path, old_bytes, new_bytes
    raise RuntimeError("no RGBA glyph bank with a declared palette to edit")


def write_bytes_touching(path: Path, data: bytes) -> None:
    """Write data and make sure the mtime moves (coarse timestamps must not hide an edit)."""
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    after = path.stat().st_mtime_ns
    if after == before:
        os.utime(path, ns=(after + 1_000_000, after + 1_000_000))


def copy_fresh_checkout(src: Path, dest: Path) -> None:
    """Sources plus the cache dir only: no build/, no doit state, no digest memo."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        drop = {"build", ".write.lock"}
        return {n for n in names if n in drop or n.startswith((".doit", ".digests.sqlite"))}

    shutil.copytree(src, dest, ignore=ignore, symlinks=True)


def run_size(
    size: int,
    *,
    seed: int,
    quick: bool,
    out: Path,
    workdir: Path,
    keep: bool,
    timeout: float,
    command: str,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Generate one tree of `size` assets and measure every step on it."""
    base = workdir / f"size-{size}"
    if base.exists():
        shutil.rmtree(base)
    project, fresh = base / "project", base / "fresh"
    logs = out / "logs" / f"size-{size}"
    if logs.exists():
        shutil.rmtree(logs)
    t0 = time.perf_counter()
    generate(project, size, seed)
    gen_s = time.perf_counter() - t0
    # Files younger than 2 s are "racily fresh" and re-checked once by the next run (git's
    # rule, SPEC-safe); let the newest ones age so no-op numbers measure steady state.
    time.sleep(2.1)
    files = input_files(project)
    n_bytes = sum(os.path.getsize(p) for p in files)
    log(f"[{size}] generated {len(files)} input files ({n_bytes / 1e6:.1f} MB) in {gen_s:.1f}s")
    steps: dict[str, Step] = {}
    load_before = os.getloadavg()
    state = "original"  # input state of the tree: "original" or "edited"

    def run(name: str, argv: Sequence[str], cwd: Path = project, **kw: Any) -> Step:
        step = measure(name, argv, cwd, logs, timeout=timeout, **kw)
        if name in PACKS:
            step.state = state
            step.assets_pa_blake3 = assets_pa_digest(cwd)
        steps[name] = step
        counts = "" if step.summary_line is None else f"  [{step.summary_line}]"
        log(
            f"[{size}] {name:<9} {step.wall_s:8.2f}s wall {step.cpu_s:8.2f}s cpu "
            f"{step.peak_rss_mib:7.1f} MiB{counts}"
        )
        return step

    doit_pack = [DOIT, "pack"]
    run("cold", doit_pack)
    run("noop", doit_pack)
    repeat = 1 if quick else 3
    floors = {
        "stat_floor": best_of(lambda: stat_all(files), repeat),
        "hash_floor": best_of(lambda: hash_all(files), repeat),
    }
    log(f"[{size}] floors: stat {floors['stat_floor']:.3f}s, hash {floors['hash_floor']:.3f}s")

    edited, old_png, new_png = pick_edit(project)
    write_bytes_touching(edited, new_png)
    state = "edited"
    run("edit", doit_pack)

    if not quick:
        # doit's default MD5 checker: a cold doit build of the edited state (identity check).
        (project / MD5_DODO).write_text(MD5_DODO_TEXT, encoding="utf-8")
        shutil.rmtree(project / "build")
        for p in (project / "assets/.prometeu").glob(".digests.sqlite*"):
            p.unlink()
        md5_cache = base / "md5-cache"
        md5_env = child_env({"PROMETEU_PACKER_CACHE": str(md5_cache)})
        run("md5_cold", [DOIT, "-f", MD5_DODO, "pack"], env=md5_env)
        run("md5_noop", [DOIT, "-f", MD5_DODO, "pack"], env=md5_env)
        shutil.rmtree(md5_cache)

        write_bytes_touching(edited, old_png)
        state = "original"
        run("revert", doit_pack)

    t0 = time.perf_counter()
    copy_fresh_checkout(project, fresh)
    copy_s = time.perf_counter() - t0
    run("fresh", doit_pack, cwd=fresh)
    if not keep:
        shutil.rmtree(fresh)

    # build/ already holds this build: drop it, or the pack is (rightly) a no-op
    shutil.rmtree(project / "build")
    run("no_cache", [PACKER, "--no-cache", "pack"])
    if not quick:
        shutil.rmtree(project / "build")
        run("naive", [PACKER, "--no-cache", "pack"])
    run("summary", [PACKER, "summary"])
    run("validate", [PACKER, "validate"])
    doctor = run("doctor", [PACKER, "doctor", "--workspace"], ok_codes=(0, 1, 2))
    if doctor.exit_code == 2:  # click's "No such command": not registered (yet)
        steps["doctor"] = Step("doctor", note="n/a: `doctor` is not registered in the CLI")
        log(f"[{size}] doctor    n/a (command not registered)")
    if not quick:
        run("startup", [sys.executable, "-c", "import packer_tasks.dodo"], cwd=base)

    identical = check_identity(steps, size)
    check_counts(steps, size)
    cold = steps["cold"].wall_s or 0.0
    rows: list[dict[str, Any]] = []
    for key, label in STEPS + FLOORS:
        if key in floors:
            row: dict[str, Any] = {"step": key, "label": label, "wall_s": floors[key]}
        elif key in steps:
            row = {"step": key, "label": label, **asdict(steps[key])}
            row.pop("name")
        else:
            continue
        wall = row.get("wall_s")
        if wall is not None:
            row["x_cold"] = round(wall / cold, 4) if cold else None
            row["x_stat_floor"] = round(wall / floors["stat_floor"], 1)
            row["x_hash_floor"] = round(wall / floors["hash_floor"], 2)
        rows.append(row)
    result = {
        "size": size,
        "command": command,
        "seed": seed,
        "quick": quick,
        "machine": {
            **machine_info(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "inputs": {
            "files": len(files),
            "bytes": n_bytes,
            "generate_s": round(gen_s, 2),
            "fresh_copy_s": round(copy_s, 2),
            "edited_file": str(edited.relative_to(project)),
        },
        "identical": identical["identical"],
        "identity": identical,
        "floors": floors,
        "steps": rows,
    }
    if not keep:
        shutil.rmtree(base)
    return result


PACKS = {"cold", "noop", "edit", "md5_cold", "md5_noop", "revert", "fresh", "no_cache", "naive"}


def check_identity(steps: dict[str, Step], size: int) -> dict[str, Any]:
    """Builds of one input state must give byte-identical assets.pa; the edit must change it."""
    groups: dict[str, dict[str, str | None]] = {"original": {}, "edited": {}}
    for name, step in steps.items():
        if step.state is not None:
            groups[step.state][name] = step.assets_pa_blake3
    for label, group in groups.items():
        digests = set(group.values())
        assert len(digests) == 1 and None not in digests, f"[{size}] {label}: {group}"
    a = next(iter(groups["original"].values()))
    b = next(iter(groups["edited"].values()))
    assert a != b, f"[{size}] the one-asset edit did not change assets.pa"
    return {
        "identical": True,
        "original_state": groups["original"],
        "edited_state": groups["edited"],
    }


def check_counts(steps: dict[str, Step], size: int) -> None:
    """The summary lines must say what each build did (cold: all misses, no-op: none, ...)."""
    expect = {
        "cold": (0, size),
        "edit": (None, 1),
        "md5_cold": (0, size),
        "revert": (1, 0),
        "fresh": (size, 0),
        "no_cache": (0, size),
        "naive": (0, size),
    }
    for name, (hits, misses) in expect.items():
        if name not in steps:
            continue
        s = steps[name]
        assert s.misses == misses, f"[{size}] {name}: expected {misses} misses: {s.summary_line}"
        assert hits is None or s.hits == hits, f"[{size}] {name}: hits: {s.summary_line}"
    for name in ("noop", "md5_noop"):
        if name not in steps:
            continue
        s = steps[name]
        assert s.up_to_date == size and s.misses == 0, f"[{size}] {name}: {s.summary_line}"


def packer_commit() -> str | None:
    """HEAD of the packer checkout (read-only `git rev-parse`); None outside git."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def machine_info() -> dict[str, Any]:
    return {
        "packer_commit": packer_commit(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ---------------------------------------------------------------------------- reporting


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _counts(row: dict[str, Any]) -> str:
    if row.get("misses") is None:
        return ""
    utd = row.get("up_to_date")
    return f"{row['hits']}h / {row['misses']}m" + ("" if utd is None else f" / {utd}u")


def size_table(result: dict[str, Any]) -> list[str]:
    """Markdown section for one size."""
    m = result["machine"]
    lines = [
        f"### {result['size']} assets ({result['inputs']['files']} input files, "
        f"{result['inputs']['bytes'] / 1e6:.1f} MB)",
        "",
        f"Run {m['date']}{' with `--quick`' if result['quick'] else ''}"
        f"{f' (`{cmd}`)' if (cmd := result.get('command')) else ''}"
        f"{f' at commit {c}, working tree may differ' if (c := m.get('packer_commit')) else ''}"
        "; load average "
        f"(1/5/15 min) before {m['loadavg_before']}, after {m['loadavg_after']}; tree "
        f"generated in {result['inputs']['generate_s']} s. Identical assets.pa: "
        f"**{str(result['identical']).lower()}**",
        "",
        *(
            f"- {state} state, same bytes: {', '.join(names)}"
            for state, names in (
                ("original", result["identity"]["original_state"]),
                ("edited", result["identity"]["edited_state"]),
            )
        ),
        "",
        "| step | wall s | cpu s | x cold | x stat floor | x hash floor | peak RSS MiB "
        "| hits / misses / up-to-date | packer-reported s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in result["steps"]:
        note = f" {row['note']}" if row.get("note") else ""
        reported = "" if row.get("reported_s") is None else f"{row['reported_s']:.2f}"
        lines.append(
            f"| {row['label']} | {_fmt(row.get('wall_s'), '.3f')} "
            f"| {_fmt(row.get('cpu_s'), '.2f')} "
            f"| {_fmt(row.get('x_cold'), '.3f')} | {_fmt(row.get('x_stat_floor'), '.0f')} "
            f"| {_fmt(row.get('x_hash_floor'), '.1f')} | {_fmt(row.get('peak_rss_mib'), '.0f')} "
            f"| {_counts(row)}{note} | {reported} |"
        )
    return lines


def scaling_table(results: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown: one row per step; wall s / cpu s (peak RSS) per size."""
    sizes = [r["size"] for r in results]
    head = "| step | " + " | ".join(f"{s} assets" for s in sizes) + " |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for key, label in STEPS + FLOORS:
        cells = []
        for r in results:
            row = next((x for x in r["steps"] if x["step"] == key), None)
            if row is None or row.get("wall_s") is None:
                cells.append("n/a")
            elif row.get("peak_rss_mib") is not None:
                cells.append(
                    f"{row['wall_s']:.2f} / {row['cpu_s']:.2f} ({row['peak_rss_mib']:.0f} MiB)"
                )
            else:
                cells.append(f"{row['wall_s']:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: Sequence[dict[str, Any]], argv: Sequence[str]) -> str:
    """RESULTS.md: machine, scaling table, one section per size, notes."""
    m = results[-1]["machine"]
    lines = [
        "# prometeu-packer benchmarks",
        "",
        f"Written by `python benchmarks/run.py {' '.join(argv)}`; machine: "
        f"{m['nproc']} CPUs (nproc), Python {m['python']}, {m['platform']}.",
        "",
        "**The machine is shared and noisy** (see the load averages per size: other jobs ran "
        "at the same time), and every number is from **one run**: treat small differences, "
        "and ratios of sub-second steps, as noise. *cpu s* (user + system time of the child, "
        "from `os.wait4`) is less sensitive to the load than *wall s*. Every step is a fresh "
        "subprocess, so it includes interpreter start-up and imports (see the start-up floor "
        "row); *packer-reported s* is the time printed in the summary line, measured inside "
        "the process (for doit: from the reporter's creation, after task loading). Floors are "
        "in-process, best of 3 (1 with `--quick`).",
        "",
        "## Wall s / CPU s (peak RSS) by project size",
        "",
        *scaling_table(results),
        "",
        "## Per size: ratios to the cold build and to the floors",
        "",
    ]
    for r in results:
        lines += [*size_table(r), ""]
    lines += [
        "Notes:",
        "",
        "- *cold*: fresh tree, no cache, no doit state, no build/.",
        "- *one-asset edit*: one pixel of one RGBA tile recoloured with another colour of its "
        "declared palette 0.",
        "- *MD5 checker*: a dodo file that imports `packer_tasks.dodo` but sets "
        "`check_file_uptodate = 'md5'` and its own dep file; cold = empty cache (via "
        "`PROMETEU_PACKER_CACHE`), no build/, no digest memo. It is the cold doit build of "
        "the edited state, so it also checks the incremental build's bytes.",
        "- *edit reverted*: the edited PNG restored; the asset re-runs and hits the cache.",
        "- *fresh checkout*: the tree copied with only `.prometeu-cache/` (no build/, "
        "no `.doit.db*`, no `.digests.sqlite*`), as a CI job restoring its cache.",
        "- *naive full repack* = `--no-cache pack` after deleting build/.",
        "- Identity: every build of one input state (original / edited, listed under each "
        "size) produced a byte-identical build/assets.pa, and the edit changed it.",
        "- `--quick` skips the MD5 checker, edit-revert, naive repack and start-up rows.",
        "",
    ]
    return "\n".join(lines)


def load_results(out: Path, fresh: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's results plus earlier results-<size>.json in `out` for other sizes."""
    by_size = {r["size"]: r for r in fresh}
    for path in out.glob("results-*.json"):
        try:
            earlier = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(earlier, dict) and earlier.get("size") not in by_size:
            by_size[earlier["size"]] = earlier
    return [by_size[s] for s in sorted(by_size)]


def console_table(result: dict[str, Any]) -> str:
    head = (
        f"{'step':<52} {'wall s':>9} {'cpu s':>8} {'x cold':>7} {'x stat':>8} {'x hash':>7} "
        f"{'RSS MiB':>8}  counts"
    )
    lines = [f"== {result['size']} assets, identical assets.pa: {result['identical']}", head]
    for row in result["steps"]:
        lines.append(
            f"{row['label'][:52]:<52} {_fmt(row.get('wall_s'), '9.3f')} "
            f"{_fmt(row.get('cpu_s'), '8.2f')} "
            f"{_fmt(row.get('x_cold'), '7.3f')} {_fmt(row.get('x_stat_floor'), '8.0f')} "
            f"{_fmt(row.get('x_hash_floor'), '7.1f')} {_fmt(row.get('peak_rss_mib'), '8.0f')}  "
            f"{_counts(row)}{row.get('note') or ''}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated asset counts")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="floors once; skip MD5 checker, edit revert, naive repack, start-up floor",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "out",
        help="results folder; RESULTS.md also lists earlier results-<size>.json found there",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where trees are generated (default: a temporary folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--step-timeout", type=float, default=3600.0, help="kill a step after this many seconds"
    )
    parser.add_argument(
        "--commit-results", action="store_true", help="also write benchmarks/RESULTS.md"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from the results-<size>.json in --out",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        sizes = []
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prometeu-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    results = []
    try:
        for size in sizes:
            result = run_size(
                size,
                seed=args.seed,
                quick=args.quick,
                out=args.out,
                workdir=workdir,
                keep=args.keep,
                timeout=args.step_timeout,
                command="python benchmarks/run.py " + " ".join(argv),
                log=log,
            )
            results.append(result)
            (args.out / f"results-{size}.json").write_text(
                json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            print(console_table(result), flush=True)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    merged = load_results(args.out, results)
    if not merged:
        print(f"no results in {args.out}", file=sys.stderr)
        return 1
    text = markdown(merged, argv)
    (args.out / "RESULTS.md").write_text(text, encoding="utf-8")
    if args.commit_results:
        (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
