"""Benchmark the remote cache tier (issue 14): a fresh machine against a warm remote.

One project of `--assets` assets is generated (benchmarks/generate.py) and a real nginx
WebDAV store is started on 127.0.0.1 (tests/remote_server.py). Each round measures, as fresh
processes of `prometeu-packer pack` in fresh copies of the project (no build/, no doit
state):

* cold: empty local cache, no remote;
* seed (not a ratio): empty local cache, remote with writes, so the remote is warm;
* remote: empty local cache, the warm remote (read-only): every asset a remote hit;
* warm local: the local cache the remote run filled, no remote.

Ratios are taken within a round and the minimum over the rounds is reported against the
issue's goals: remote <= 0.3 x cold and <= 1.5 x warm local. Every run must produce the same
assets.pa bytes.

    python benchmarks/remote.py                 # 1,000 assets, 3 rounds
    python benchmarks/remote.py --assets 100 --rounds 1
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
from generate import generate  # noqa: E402
from remote_server import running_nginx  # noqa: E402

GOAL_VS_COLD = 0.3
GOAL_VS_WARM = 1.5
STATE = ("build", ".prometeu-cache", ".doit.db", ".doit.db.dat", ".doit.db.dir", ".doit.db.bak")


def child_env() -> dict[str, str]:
    """This checkout first on the path, none of the caller's packer settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETEU_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    return env


def fresh_copy(base: Path, dest: Path) -> Path:
    """A checkout of the project at another path, without any build or cache state."""
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns(*STATE, ".digests.sqlite*", ".write.lock*")
    shutil.copytree(base, dest, ignore=ignore, symlinks=True)
    return dest


def pack(project: Path, cache: Path, *options: str) -> tuple[float, str]:
    """Seconds of one `prometeu-packer pack` process, and its assets.pa's SHA-256."""
    argv = [sys.executable, "-m", "packer_tasks", "--cache-dir", str(cache), *options, "pack"]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=project, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or "warning" in proc.stdout + proc.stderr:
        raise SystemExit(f"{' '.join(options)} pack failed or warned:\n{proc.stdout}{proc.stderr}")
    digest = hashlib.sha256((project / "build" / "assets.pa").read_bytes()).hexdigest()
    return seconds, digest


def one_round(base: Path, work: Path, url: str) -> dict[str, float]:
    """cold, seed, remote and warm-local seconds of one round (same bytes every time)."""
    if work.exists():
        shutil.rmtree(work)
    times: dict[str, float] = {}
    digests: set[str] = set()
    runs = [
        ("cold", "cold", ()),
        ("seed", "seed", ("--remote-cache", url, "--remote-cache-write")),
        ("remote", "fresh", ("--remote-cache", url)),
        ("warm_local", "fresh", ()),  # the cache the remote run just filled
    ]
    for name, cache, options in runs:
        project = fresh_copy(base, work / f"checkout-{name}")
        times[name], digest = pack(project, work / f"cache-{cache}", *options)
        digests.add(digest)
    if len(digests) != 1:
        raise SystemExit(f"assets.pa differs between runs: {sorted(digests)}")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    top = Path(args.workdir or tempfile.mkdtemp(prefix="prometeu-remote-bench-"))
    try:
        base = top / "project"
        if not base.exists():
            generate(base, args.assets, args.seed)
        rounds = []
        with running_nginx(top / "nginx") as server:
            for r in range(args.rounds):
                url = f"{server.url}/round-{r}-{time.time_ns()}"
                rounds.append(one_round(base, top / "work", url))
                print(
                    f"round {r + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in rounds[-1].items())
                )
        report(args.assets, rounds)
    finally:
        if args.workdir is None:
            shutil.rmtree(top, ignore_errors=True)
    return 0


def report(assets: int, rounds: list[dict[str, float]]) -> None:
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    vs_cold = min(r["remote"] / r["cold"] for r in rounds)
    vs_warm = min(r["remote"] / r["warm_local"] for r in rounds)
    print(f"\n{assets} assets, {len(rounds)} round(s), min seconds:")
    for name, seconds in best.items():
        print(f"  {name:<11} {seconds:7.2f}")
    ok_cold = "PASS" if vs_cold <= GOAL_VS_COLD else "FAIL"
    ok_warm = "PASS" if vs_warm <= GOAL_VS_WARM else "FAIL"
    print(f"  remote / cold       {vs_cold:.2f}  (goal <= {GOAL_VS_COLD}) {ok_cold}")
    print(f"  remote / warm local {vs_warm:.2f}  (goal <= {GOAL_VS_WARM}) {ok_warm}")


if __name__ == "__main__":
    raise SystemExit(main())
