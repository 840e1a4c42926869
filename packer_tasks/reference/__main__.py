"""`python -m packer_tasks.reference` writes docs/reference/; `--check` only compares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .pages import default_target, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m packer_tasks.reference",
        description="Regenerate (or, with --check, verify) the generated reference pages.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 listing stale pages")
    parser.add_argument("--target", type=Path, default=None, help="default: docs/reference")
    args = parser.parse_args(argv)
    target = args.target or default_target()
    if args.check:
        names = stale(target)
        for name in names:
            print(f"stale: {name}")
        if names:
            print("run `python -m packer_tasks.reference` to regenerate")
        return 1 if names else 0
    for name in write(target):
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
