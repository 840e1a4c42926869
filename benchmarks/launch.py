"""Start one step and measure it from a small process (run with `python -S -I`):

    python -S -I benchmarks/launch.py RESULT_JSON TIMEOUT_S -- ARGV...

Why not from run.py itself: Linux charges a child started with vfork/posix_spawn the peak RSS
of the process that started it, so a step launched by the harness (tens of MiB after it has
generated a tree) would never report less than the harness. This launcher stays at a few
MiB. It times the step from spawn to exit, takes the child's CPU time and peak RSS from
`os.wait4`, kills it after TIMEOUT_S seconds, and writes them as JSON to RESULT_JSON.
The child inherits this process's stdout, stderr and environment.
"""

import json
import os
import signal
import sys
import time


def main(argv: list[str]) -> int:
    result_path, timeout_s, sep, *cmd = argv
    if sep != "--" or not cmd:
        print("usage: launch.py RESULT_JSON TIMEOUT_S -- ARGV...", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)

    def kill(_signum: int, _frame: object) -> None:
        os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, kill)
    signal.signal(signal.SIGTERM, kill)
    signal.setitimer(signal.ITIMER_REAL, float(timeout_s))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    result = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
