"""Run one step as a subprocess and measure it (through launch.py): wall time, and the
child's CPU time and peak RSS from `os.wait4`. Also parses the packer's one-line pack summary
(hits, misses, ...)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
DOIT = str(BIN / "doit")
PACKER = str(BIN / "prometeu-packer")
LAUNCH_PY = str(HERE / "launch.py")

SCRUBBED_ENV = ("PROMETEU_PACKER_CACHE", "PROMETEU_PACKER_EVENTS", "PROMETEU_PACKER_DEBUG")
# The pack summary line, in any of its spellings ("packed 1000 asset(s): 0 cache hit(s), 1000
# miss(es), 0 up-to-date, 9.5s", "success: packed 1000 asset(s) into build/assets.pa (0 cache
# hit(s), 1000 miss(es)) in 5.1 s", "build/assets.pa is up to date: 1000 asset(s), ..."): the
# counts are read by their words, the time is the last duration on the line.
PACKED_RE = re.compile(r"packed (\d+) asset")
UP_TO_DATE_RE = re.compile(r"is up to date: (\d+) asset")
COUNT_RES = {
    "hits": re.compile(r"(\d+) cache hit"),
    "misses": re.compile(r"(\d+) miss"),
    "up_to_date": re.compile(r"(\d+) up-to-date"),
}
DURATION_RE = re.compile(r"(\d+(?:\.\d+)?) ?(ms|s)\b")


@dataclass
class Step:
    """One measured subprocess."""

    name: str
    wall_s: float | None = None
    cpu_s: float | None = None  # user + system CPU of the child (less load-sensitive than wall)
    peak_rss_mib: float | None = None
    exit_code: int | None = None
    argv: list[str] = field(default_factory=list)
    packed: int | None = None
    hits: int | None = None
    misses: int | None = None
    up_to_date: int | None = None
    reported_s: float | None = None  # the time the packer printed in its summary line
    summary_line: str | None = None
    inner_s: float | None = None  # floors: the seconds the script measured in-process
    state: str | None = None  # packs only: the input state built ("original" / "edited")
    assets_pa_blake3: str | None = None
    note: str | None = None
    output_tail: list[str] = field(default_factory=list)  # last lines of stdout + stderr
    ok: bool = True  # the exit code was one the step allows


def _seconds(amount: str, unit: str) -> float:
    return float(amount) / (1000 if unit == "ms" else 1)


def parse_summary(text: str) -> dict[str, Any]:
    """Counts from doit's (or the CLI's) one-line pack summary; {} when there is none."""
    for line in reversed(text.splitlines()):
        packed = PACKED_RE.search(line)
        if packed is None and UP_TO_DATE_RE.search(line) is None:
            continue
        out: dict[str, Any] = {"packed": int(packed.group(1)) if packed else 0}
        for key, regex in COUNT_RES.items():
            m = regex.search(line)
            out[key] = int(m.group(1)) if m else None
        durations = DURATION_RE.findall(line)
        out["reported_s"] = _seconds(*durations[-1]) if durations else None
        out["summary_line"] = line.strip()
        return out
    return {}


def parse_floor(text: str) -> float | None:
    """The in-process seconds a floor script printed as its JSON line."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return float(json.loads(line)["seconds"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without packer overrides (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
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
    floor: bool = False,
) -> Step:
    """Run argv through launch.py and return its wall time, CPU time and peak RSS.

    Never raises for the child's exit code: the caller decides which codes are fine. Output
    goes to `logs/<name>.out|.err` (the last round's logs are kept)."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    result_path = logs / f"{name}.launch.json"
    result_path.unlink(missing_ok=True)
    launcher = [PYTHON, "-S", "-I", LAUNCH_PY, str(result_path), str(timeout), "--"]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        subprocess.run(
            [*launcher, *argv],
            cwd=cwd,
            env=env or child_env(),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            check=True,
            timeout=timeout + 60,
        )
    usage = json.loads(result_path.read_text("utf-8"))
    code = int(usage["exit_code"])
    text = out_path.read_text("utf-8", "replace") + err_path.read_text("utf-8", "replace")
    step = Step(
        name,
        wall_s=round(usage["wall_s"], 4),
        cpu_s=round(usage["cpu_s"], 3),
        peak_rss_mib=round(usage["peak_rss_kib"] / 1024, 1),
        exit_code=code,
        argv=list(argv),
    )
    for key, value in parse_summary(text).items():
        setattr(step, key, value)
    step.output_tail = [line[:300] for line in text.strip().splitlines()[-4:]]
    if floor:
        step.inner_s = parse_floor(text)
    if code != 0:
        step.note = "exit {}: {}".format(code, " | ".join(text.strip().splitlines()[-3:]))
    return step
