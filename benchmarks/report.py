"""Issue 11's ratios from measured rounds, and the reports (console, RESULTS.md).

A ratio is computed within each round (a step over the floors or the step measured in the
same round), then the minimum over the rounds is kept and compared with its goal."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steps import EDITED_STATE, LABELS, ORIGINAL_STATE

ISSUE_SIZES = (1000, 5000, 20000)
RSS_LIMIT = 1.2
RSS_STEPS = (
    "no_cache",
    "cold",
    "noop",
    "summary",
    "list",
    "help",
    "validate",
    "doctor",
    "fresh",
    "edit",
)
BASE = (("F_noop", 1.0), ("F_hash", 2.0))  # F_noop + 2 * F_hash


@dataclass(frozen=True)
class Ratio:
    """numerator step / sum(weight x term) of the same round, with its goal (None = info)."""

    key: str
    label: str
    num: str
    den: tuple[tuple[str, float], ...]
    limit: float | None
    strict: bool = False  # goal is `<` instead of `<=`
    note: str = ""

    @property
    def goal(self) -> str:
        if self.limit is None:
            return "info"
        return f"{'<' if self.strict else '≤'} {self.limit:g}" + (
            f" ({self.note})" if self.note else ""
        )

    def met(self, value: float) -> bool:
        assert self.limit is not None
        return value < self.limit if self.strict else value <= self.limit


RATIOS = (
    Ratio("noop", "no-op `doit pack` / F_noop", "noop", (("F_noop", 1),), 1.5),
    Ratio(
        "summary",
        "`summary` / F_noop",
        "summary",
        (("F_noop", 1),),
        1.5,
        note="issue's table: ≤ 2",
    ),
    Ratio("list", "`list` / F_noop", "list", (("F_noop", 1),), 1.5),
    Ratio("help", "`--help` / F_noop", "help", (("F_noop", 1),), 1.5),
    Ratio("edit", "one-asset edit / no-op", "edit", (("noop", 1),), 1.5),
    Ratio(
        "fresh",
        "fresh checkout + cache / (F_noop + 2 * F_hash + W_build)",
        "fresh",
        (*BASE, ("W_build", 1)),
        1.0,
    ),
    Ratio(
        "cold_vs_no_cache",
        "cold `doit pack` / cold `--no-cache pack`",
        "cold",
        (("no_cache", 1),),
        1.10,
    ),
    Ratio(
        "no_cache_vs_decode", "`--no-cache pack` / F_decode", "no_cache", (("F_decode", 1),), 2.0
    ),
    Ratio("cold_vs_decode", "cold `doit pack` / F_decode", "cold", (("F_decode", 1),), 1.5),
    Ratio("validate", "`validate` (warm cache) / (F_noop + 2 * F_hash)", "validate", BASE, 1.0),
    Ratio("doctor", "`doctor --workspace` / (F_noop + 2 * F_hash)", "doctor", BASE, 1.0),
    Ratio(
        "md5_noop",
        "blake3 / MD5 checker: no-op",
        "noop",
        (("md5_noop", 1),),
        1.0,
        strict=True,
    ),
    Ratio(
        "md5_edit",
        "blake3 / MD5 checker: one-asset edit",
        "edit",
        (("md5_edit", 1),),
        1.0,
        strict=True,
    ),
    Ratio("md5_cold", "blake3 / MD5 checker: cold", "cold", (("md5_cold", 1),), None),
)


# ---------------------------------------------------------------------------- aggregation


def _wall(round_: dict[str, Any], name: str) -> float | None:
    step = round_["steps"].get(name)
    if step is None or not step.get("ok", True):
        return None
    wall = step.get("wall_s")
    return float(wall) if wall is not None else None


def ratio_in_round(ratio: Ratio, round_: dict[str, Any]) -> float | None:
    num = _wall(round_, ratio.num)
    terms = [(_wall(round_, name), weight) for name, weight in ratio.den]
    if num is None or any(t is None for t, _ in terms):
        return None
    den = sum(t * w for t, w in terms if t is not None)
    return round(num / den, 3) if den > 0 else None


def _min(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def status(ratio: Ratio, value: float | None) -> str:
    if value is None:
        return "n/a"
    if ratio.limit is None:
        return "info"
    return "PASS" if ratio.met(value) else "FAIL"


def aggregate(result: dict[str, Any]) -> dict[str, Any]:
    """Add `steps` (min over rounds), `ratios` (min of within-round ratios), `problems` and
    `identical` to one size's result."""
    rounds = result["rounds"]
    rows = []
    for name, label in LABELS.items():
        per_round = [r["steps"].get(name) for r in rounds]
        if all(s is None for s in per_round):
            continue
        present = [s for s in per_round if s is not None and s.get("ok", True)]
        first = present[0] if present else {}
        rows.append(
            {
                "step": name,
                "label": label,
                "wall_s": _min([_wall(r, name) for r in rounds]),
                "cpu_s": _min([s.get("cpu_s") for s in present]),
                "peak_rss_mib": _min([s.get("peak_rss_mib") for s in present]),
                "inner_s": _min([s.get("inner_s") for s in present]),
                "walls": [None if s is None else s.get("wall_s") for s in per_round],
                "ok": all(s is None or s.get("ok", True) for s in per_round),
                "hits": first.get("hits"),
                "misses": first.get("misses"),
                "up_to_date": first.get("up_to_date"),
                "summary_line": first.get("summary_line"),
            }
        )
    ratios = []
    measured = {name for r in rounds for name in r["steps"]}
    for ratio in RATIOS:
        values = [ratio_in_round(ratio, r) for r in rounds]
        best = _min(values)
        skipped = not {ratio.num, *(name for name, _ in ratio.den)} <= measured
        ratios.append(
            {
                "key": ratio.key,
                "label": ratio.label,
                "goal": ratio.goal,
                "per_round": values,
                "value": best,
                "status": "not measured" if skipped else status(ratio, best),
            }
        )
    problems = [f"round {r['round']}: {p}" for r in rounds for p in r["problems"]]
    for state, names in (("original", ORIGINAL_STATE), ("edited", EDITED_STATE)):
        digests = {
            r["steps"][n].get("assets_pa_blake3") for r in rounds for n in names if n in r["steps"]
        }
        if len(digests) > 1:
            problems.append(f"identity: {state}-state assets.pa differs between rounds")
    warnings = []
    if result.get("code_changed_during_run"):
        warnings.append("the packer's code changed (someone edited it) during these rounds")
    result["warnings"] = warnings
    result["steps"] = rows
    result["ratios"] = ratios
    result["problems"] = problems
    result["identical"] = not any("identity:" in p for p in problems)
    return result


def rss_rows(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per step: min peak RSS at each size, and each larger size / the smallest size."""
    if len(results) < 2:
        return []
    base = results[0]
    out = []
    for name in RSS_STEPS:
        rss = {
            r["size"]: next((s["peak_rss_mib"] for s in r["steps"] if s["step"] == name), None)
            for r in results
        }
        ratios = {}
        for r in results[1:]:
            a, b = rss[r["size"]], rss[base["size"]]
            ratios[r["size"]] = None if a is None or not b else round(a / b, 2)
        out.append({"step": name, "label": LABELS[name], "rss": rss, "ratio": ratios})
    return out


# ---------------------------------------------------------------------------- rendering


def _n(size: int) -> str:
    return f"{size:,}"


def _f(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def _r(value: float | None) -> str:
    """A ratio with 3 significant digits (0.998 must not print as 1.00 against `< 1`)."""
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "not measured"
    if row["value"] is None:
        return "not measured" if row["status"] == "not measured" else "n/a"
    mark = "" if row["status"] == "info" else f" {row['status']}"
    return f"{_r(row['value'])}{mark}"


def ratio_table(results: Sequence[dict[str, Any]], sizes: Sequence[int]) -> list[str]:
    by_size = {r["size"]: {x["key"]: x for x in r["ratios"]} for r in results}
    lines = [
        "| ratio | goal | " + " | ".join(f"{_n(s)} assets" for s in sizes) + " |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    for ratio in RATIOS:
        cells = [_cell(by_size[s][ratio.key]) if s in by_size else "not measured" for s in sizes]
        lines.append(f"| {ratio.label} | {ratio.goal} | " + " | ".join(cells) + " |")
    return lines


def rss_table(results: Sequence[dict[str, Any]]) -> list[str]:
    rows = rss_rows(results)
    if not rows:
        return ["(one size only: no ratio)"]
    sizes = [r["size"] for r in results]
    base = _n(sizes[0])
    head = (
        "| step | "
        + " | ".join(f"{_n(s)} MiB" for s in sizes)
        + " | "
        + " | ".join(f"{_n(s)} / {base} (≤ {RSS_LIMIT:g})" for s in sizes[1:])
        + " |"
    )
    lines = [head, "|---|" + "---:|" * (2 * len(sizes) - 1)]
    for row in rows:
        rss = [_f(row["rss"][s], ".0f") for s in sizes]
        ratios = []
        for s in sizes[1:]:
            v = row["ratio"][s]
            ratios.append("n/a" if v is None else f"{v:.2f} {'PASS' if v <= RSS_LIMIT else 'FAIL'}")
        lines.append(f"| {row['label']} | " + " | ".join(rss + ratios) + " |")
    return lines


def step_table(results: Sequence[dict[str, Any]]) -> list[str]:
    sizes = [r["size"] for r in results]
    lines = [
        "| step | " + " | ".join(f"{_n(s)} assets" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name, label in LABELS.items():
        cells = []
        for r in results:
            row = next((x for x in r["steps"] if x["step"] == name), None)
            if row is None:
                cells.append("not measured")
            elif row["wall_s"] is None:
                cells.append("failed")
            elif row["cpu_s"] is None:
                cells.append(f"{row['wall_s']:.3f}")
            else:
                cells.append(
                    f"{row['wall_s']:.3f} ({row['cpu_s']:.2f} cpu, {row['peak_rss_mib']:.0f} MiB)"
                )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _counts(row: dict[str, Any]) -> str:
    if row.get("misses") is None:
        return ""
    utd = row.get("up_to_date")
    return f"{row['hits']}h / {row['misses']}m" + ("" if utd is None else f" / {utd}u")


def _code(round_: dict[str, Any]) -> str:
    before, after = round_.get("code_before"), round_.get("code_after")
    if before is None:
        return "not recorded"
    return before if before == after else f"{before} → {after} (edited during the round)"


def size_section(result: dict[str, Any]) -> list[str]:
    size, rounds = result["size"], result["rounds"]
    code = result["code"]
    lines = [
        f"### {_n(size)} assets ({result['inputs']['files']:,} inputs, "
        f"{result['inputs']['bytes'] / 1e6:.1f} MB; shape {result['shape']['name']})",
        "",
        f"Measured {result.get('date', '?')}; commit {code.get('commit')} with "
        f"{len(code.get('uncommitted') or [])} uncommitted file(s) under packer_tasks/ and "
        f"cache/; working tree changed during these rounds: "
        f"**{'yes' if result.get('code_changed_during_run') else 'no'}**.",
        "",
        "| round | load avg before (1/5/15 min) | load avg after | round s | packer code "
        "(fingerprint before → after) |",
        "|---|---|---|---:|---|",
        *(
            f"| {r['round']} | {r['loadavg_before']} | {r['loadavg_after']} | {r['seconds']} "
            f"| {_code(r)} |"
            for r in rounds
        ),
        "",
        "| ratio | goal | " + " | ".join(f"round {r['round']}" for r in rounds) + " | min |",
        "|---|---|" + "---:|" * (len(rounds) + 1),
    ]
    for row in result["ratios"]:
        cells = [_r(v) for v in row["per_round"]]
        lines.append(
            f"| {row['label']} | {row['goal']} | "
            + " | ".join(cells)
            + f" | {_r(row['value'])} {row['status']} |"
        )
    lines += [
        "",
        "| step | wall s per round | min wall s | min cpu s | min peak RSS MiB "
        "| hits / misses / up-to-date (round 1) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in result["steps"]:
        walls = ", ".join(_f(w, ".3f") for w in row["walls"])
        lines.append(
            f"| {row['label']} | {walls} | {_f(row['wall_s'], '.3f')} | {_f(row['cpu_s'])} "
            f"| {_f(row['peak_rss_mib'], '.0f')} | {_counts(row)} |"
        )
    problems = result["problems"]
    lines += ["", "Problems (identity, counts, failed steps): " + ("none." if not problems else "")]
    lines += [f"- {p}" for p in problems]
    lines += [f"- warning: {w}" for w in result.get("warnings", [])]
    return lines


DEFINITIONS = """\
- Every step is a fresh subprocess, so every step and every floor includes the
  interpreter's start. It is started by `benchmarks/launch.py` (a ~10 MiB `python -S -I`),
  which takes its wall time from spawn to exit and its CPU time and peak RSS from
  `os.wait4` (started from the harness itself, a step would inherit the harness's peak RSS).
- **F_noop** = `python benchmarks/floors.py noop MANIFEST`: the interpreter, `import doit`
  and one `os.stat` of every declared input (the registry, every asset.json, every PNG/WAV
  they name; the list is written before the rounds, as a no-op would keep it from its
  previous run).
- **F_hash** = `python benchmarks/floors.py hash MANIFEST`: the interpreter, then read +
  blake3 of every declared input. As a subprocess it includes the interpreter's start, so
  `F_noop + 2 * F_hash` counts three starts (≈ 0.03 s each): slightly generous to the packer.
- **F_decode** = `python benchmarks/naive_repack.py PROJECT OUT`: load every asset.json,
  decode every PNG (Pillow `tobytes`) and WAV (`wave`), write all the bytes to one file;
  one process, no validation, no cache.
- **W_build** = the time to copy the build/ folder that the fresh-checkout pack produced
  (`shutil.copytree`, in-process, no fsync): the write time of build/.
- *cold*: no build/, no cache, no doit state, no digest memo (every file the packer or doit
  left is removed before the step). `--no-cache` runs on the same wiped tree.
- *no-op*: `doit pack` right after the cold one. *summary*, *list*, *--help*, *validate*
  and *doctor --workspace* run after the no-op (warm cache).
- *fresh checkout*: the sources copied with new mtimes (as a checkout writes them) plus the
  project's `.prometeu-cache/` copied with its mtimes (as a CI cache restore): no build/,
  no doit state, no digest memo.
- *one-asset edit*: one pixel of one RGBA tile recoloured with another colour of its
  declared palette 0, then `doit pack` (one miss).
- *MD5 checker*: a copy of the tree whose dodo imports `packer_tasks.dodo` but sets doit's
  `check_file_uptodate = "md5"` and its own dep file: cold, no-op, then the same edit.
- Identity: every build of the original inputs (`--no-cache`, cold, no-op, fresh, MD5
  cold/no-op) gives the same build/assets.pa in every round, both edited builds the same
  other bytes; the summary lines' hit/miss/up-to-date counts are checked too (listed under
  Problems when not).
- Generated files are dated 2 minutes back so no input is "racily fresh" (< 2 s old)."""


def markdown(results: Sequence[dict[str, Any]], command: str, notes: Sequence[str]) -> str:
    first = results[0]
    m = first["machine"]
    sizes = sorted({*ISSUE_SIZES, *(r["size"] for r in results)})
    code = first["code"]
    uncommitted = code.get("uncommitted") or []
    lines = [
        "# prometeu-packer benchmarks: the ratios of issue 11",
        "",
        f"Measured with `{command}` ({m['date']}) at commit **{code.get('commit')}**"
        + (
            f" plus the uncommitted working tree ({len(uncommitted)} changed file(s) under "
            f"packer_tasks/ and cache/: {', '.join(uncommitted)})"
            if uncommitted
            else " (clean working tree)"
        )
        + (
            f", but the packer imported from PYTHONPATH={first['env_pythonpath']}"
            if first.get("env_pythonpath")
            else ""
        )
        + f". Shape: {first['shape']['name']} (tiles per glyph bank: "
        f"{first['shape']['tiles_per_asset'] or '8/16/32'}, samples per sound bank: "
        f"{first['shape']['samples_per_asset'] or '1-3'}, depth {first['shape']['depth']}), "
        f"seed {first['seed']}; {len(first['rounds'])} round(s) per size. Machine: "
        f"{m['nproc']} CPUs, Python {m['python']}, {m['platform']}.",
        "",
        "**The machine is shared with other engineers and noisy**: see the load averages of "
        "every round below. Ratios are computed within a round (a step and its floors "
        "measured back to back), and the minimum over the rounds is kept.",
        "",
        "## Ratios (min over rounds of the within-round ratio)",
        "",
        *ratio_table(results, sizes),
        "",
        "Load average (1 / 5 / 15 min) before each round: "
        + "; ".join(
            f"{_n(r['size'])} assets: "
            + ", ".join(" / ".join(f"{x:g}" for x in rd["loadavg_before"]) for rd in r["rounds"])
            for r in results
        )
        + f" ({m['nproc']} CPUs).",
        "",
        "## Peak RSS (min over rounds) by size",
        "",
        *rss_table(results),
        "",
        "## Min wall s over rounds (cpu s, peak RSS)",
        "",
        *step_table(results),
        "",
        "## Per size",
        "",
    ]
    for r in results:
        lines += [*size_section(r), ""]
    lines += ["## Definitions", "", DEFINITIONS, ""]
    if notes:
        lines += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)


def console(result: dict[str, Any]) -> str:
    lines = [f"== {result['size']:,} assets: ratios (min over {len(result['rounds'])} round(s))"]
    for row in result["ratios"]:
        per = ", ".join(_r(v) for v in row["per_round"])
        goal = row["goal"].split(" (")[0]
        lines.append(
            f"  {row['label'][:58]:<58} {goal:<6} {_r(row['value']):>6} {row['status']:<5} [{per}]"
        )
    lines.append("  steps (min wall s, cpu s, peak RSS MiB):")
    for row in result["steps"]:
        lines.append(
            f"  {row['label'][:58]:<58} {_f(row['wall_s'], '.3f'):>8} {_f(row['cpu_s']):>7} "
            f"{_f(row['peak_rss_mib'], '.0f'):>6}  {_counts(row)}"
        )
    lines += [f"  PROBLEM {p}" for p in result["problems"]]
    lines += [f"  WARNING {w}" for w in result.get("warnings", [])]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
