"""`from packer_tasks.dodo import *` in a game's dodo.py gives it `doit pack`.

doit state uses the sqlite3 backend and the blake3 checker; a corrupt state file is moved
aside (one re-hash, never a wrong build). A repository that keeps its game elsewhere can
call `pack_tasks("path/to/game")` from its own `task_pack`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from .build_system.checker import Blake3Checker
from .build_system.reporter import PackReporter
from .build_system.run import heal_dep_file
from .build_system.tasks import pack_tasks

DEP_FILE = ".doit.db"

DOIT_CONFIG: dict[str, Any] = {
    "backend": "sqlite3",
    "dep_file": DEP_FILE,
    "check_file_uptodate": Blake3Checker,
    "reporter": PackReporter,
    "default_tasks": ["pack"],
}

_healed = heal_dep_file(DEP_FILE)
if _healed:
    print(f"packer: {_healed}", file=sys.stderr)


def task_pack() -> Iterator[dict[str, Any]]:
    """Pack this project's build set into build/assets.pa (incremental, cached)."""
    yield from pack_tasks()


__all__ = ["DOIT_CONFIG", "pack_tasks", "task_pack"]
