"""The floors of issue 11, run by the harness as fresh subprocesses (so they include the
interpreter's start, like every packer step):

    python benchmarks/floors.py noop MANIFEST   # F_noop: `import doit` + one os.stat per input
    python benchmarks/floors.py hash MANIFEST   # F_hash: read + blake3 every input

MANIFEST lists the project's inputs one per line (the registry, every asset.json and every
PNG/WAV they name), relative to the current folder; a real no-op would keep such a list from
its previous run. Prints one JSON line: the in-process seconds, files and bytes. Only the
standard library and what each floor needs are imported, so nothing else inflates a floor.
"""

from __future__ import annotations

import json
import os
import sys
import time


def read_manifest(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def noop_floor(paths: list[str]) -> int:
    """What a no-op cannot avoid: load the build tool, then stat every input once."""
    import doit  # noqa: F401  (the import is the point: doit is what runs `doit pack`)

    st = os.stat
    return sum(st(p).st_size for p in paths)


def hash_floor(paths: list[str]) -> int:
    """Read and blake3-hash every input (the content check of a build with no stat facts)."""
    from blake3 import blake3

    total = 0
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        blake3(data).digest()
        total += len(data)
    return total


FLOORS = {"noop": noop_floor, "hash": hash_floor}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in FLOORS:
        print(f"usage: floors.py {{{'|'.join(FLOORS)}}} MANIFEST", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    paths = read_manifest(argv[1])
    n_bytes = FLOORS[argv[0]](paths)
    seconds = time.perf_counter() - t0
    print(json.dumps({"floor": argv[0], "seconds": seconds, "files": len(paths), "bytes": n_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
