"""Measure every ratio of issue 11 with one command.

For each size one project is generated (benchmarks/generate.py; default shape `issue11`:
glyph banks of 8 tiles, sound banks of 2 samples), then `--rounds` rounds run on it. A round
measures the floors (F_noop, F_hash, F_decode) and every step (cold / no-op / edit / fresh
`doit pack`, `--no-cache pack`, summary, list, --help, validate, doctor --workspace, and
doit's MD5 checker) back to back; ratios are computed within a round and the minimum over
the rounds is compared with the issue's goals (PASS/FAIL). See steps.py for the order of a
round and report.py for the ratios.

    python benchmarks/run.py                                  # 1,000, 5,000, 20,000; 3 rounds
    python benchmarks/run.py --sizes 1000,5000 --rounds 3 --commit-results
    python benchmarks/run.py --quick                # smoke: 20 assets, 1 round, no MD5 rows
    python benchmarks/run.py --report-only --commit-results   # RESULTS.md from the last run

Writes benchmarks/out/run-<time>.json (every size of the run, rewritten after each size),
results-<size>.json and RESULTS.md; `--commit-results` also writes benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import add_shape_arguments, shape_from_args
from measure import HERE
from report import aggregate, console, machine_info, markdown, ratio_table
from steps import run_size

DEFAULT_SIZES = "1000,5000,20000"
QUICK_SIZES = "20"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=None,
        help=f"comma-separated asset counts (default {DEFAULT_SIZES}; {QUICK_SIZES} with --quick)",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per size (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 20 assets, 1 round, no MD5 rows (unless given)",
    )
    parser.add_argument(
        "--md5",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure doit's MD5 checker (cold, no-op, edit on a copy of the tree); "
        "default: yes, no with --quick",
    )
    add_shape_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="JSON and logs folder")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where trees are generated (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    parser.add_argument(
        "--step-timeout", type=float, default=3600.0, help="kill a step after this many seconds"
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the report's Notes (repeatable), e.g. why a size was skipped",
    )
    parser.add_argument(
        "--commit-results", action="store_true", help="also write benchmarks/RESULTS.md"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from the newest run-*.json in --out",
    )
    parser.add_argument(
        "--run-json", type=Path, default=None, help="with --report-only: this run-*.json"
    )
    args = parser.parse_args(argv)
    args.sizes = [
        int(s) for s in (args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)).split(",")
    ]
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.md5 is None:
        args.md5 = not args.quick
    if args.rounds < 1 or min(args.sizes) < 1:
        parser.error("--rounds and every size must be >= 1")
    return args


def saved_run(out: Path, path: Path | None) -> tuple[str | None, list[dict[str, Any]]]:
    """The command and results of `path`, or of the newest run-*.json in `out`."""
    runs = sorted(out.glob("run-*.json"))
    if path is None and not runs:
        return None, []
    data = json.loads((path or runs[-1]).read_text("utf-8"))
    return data.get("command"), [r for r in data.get("results", []) if "rounds" in r]


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so the temporary trees are removed
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    command = "python benchmarks/run.py " + " ".join(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    results: list[dict[str, Any]] = []
    if args.report_only:
        saved_command, results = saved_run(args.out, args.run_json)
        command = saved_command or command
        for result in results:
            aggregate(result)  # with this checkout's ratios and rules
    else:
        shape = shape_from_args(args)
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prometeu-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        try:
            for size in args.sizes:
                machine = machine_info()
                result = run_size(
                    size,
                    shape=shape,
                    seed=args.seed,
                    rounds=args.rounds,
                    workdir=workdir,
                    logs=args.out / "logs" / f"size-{size}",
                    timeout=args.step_timeout,
                    with_md5=args.md5,
                    keep=args.keep,
                    log=log,
                )
                result.update(command=command, machine=machine, date=machine["date"])
                aggregate(result)
                results.append(result)
                write_json(args.out / f"results-{size}.json", result)
                write_json(args.out / f"run-{stamp}.json", {"command": command, "results": results})
                print(console(result), flush=True)
        finally:
            if not args.keep and args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    if not results:
        print(f"no results in {args.out}", file=sys.stderr)
        return 1
    text = markdown(results, command, args.note)
    (args.out / "RESULTS.md").write_text(text, encoding="utf-8")
    if args.commit_results:
        (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    print("\n".join(ratio_table(results, [r["size"] for r in results])))
    problems = [p for r in results for p in r["problems"]]
    if problems:
        print(f"{len(problems)} problem(s): see the report", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
