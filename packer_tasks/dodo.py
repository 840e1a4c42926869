"""`from packer_tasks.dodo import *` in a game's dodo.py gives it `doit pack`.

doit state uses the sqlite3 backend and the blake3 checker; a corrupt state file is moved
aside when doit opens it (one re-hash, never a wrong build). Importing this module has no
side effect. A repository that keeps its game elsewhere can call
`pack_tasks("path/to/game")` from its own `task_pack`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .build_system.checker import checker_for
from .build_system.reporter import PackReporter
from .build_system.tasks import pack_tasks

DEP_FILE = ".doit.db"

DOIT_CONFIG: dict[str, Any] = {
    "backend": "sqlite3",
    "dep_file": DEP_FILE,
    "check_file_uptodate": checker_for(DEP_FILE),
    "reporter": PackReporter,
    "default_tasks": ["pack"],
}


def task_pack() -> Iterator[dict[str, Any]]:
    """Pack this project's build set into build/assets.pa (incremental, cached)."""
    yield from pack_tasks()


__all__ = ["DOIT_CONFIG", "pack_tasks", "task_pack"]
