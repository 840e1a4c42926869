"""doit's own state file (`.doit.db`, sqlite3): a corrupt one costs one re-hash.

doit would stop with a traceback on a damaged file, or crash mid-run on a row of the wrong
shape; the checker (see `checker.py`) moves such a file aside before doit opens it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3


def _check_task_data(data: object) -> None:
    """doit calls `.get` on a row and on its `_values_:`, and `set()` on its `deps:`; a
    row of another shape would crash doit mid-run, so it counts as corruption too."""
    if not isinstance(data, dict):
        raise ValueError(f"a task row holds {type(data).__name__}, not an object")
    values = data.get("_values_:")
    if values is not None and not isinstance(values, dict):
        raise ValueError("a task row's _values_: is not an object")
    deps = data.get("deps:")
    if deps is not None and not (isinstance(deps, list) and all(isinstance(d, str) for d in deps)):
        raise ValueError("a task row's deps: is not a list of file names")


def heal_dep_file(path: str) -> str | None:
    """A corrupt doit state file must cost one re-hash, not a crash: move it aside."""
    if not os.path.exists(path):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "doit" not in tables:
                raise sqlite3.DatabaseError("not a doit state file")
            if "doit" in tables:
                for (data,) in db.execute("SELECT task_data FROM doit"):
                    _check_task_data(json.loads(data))
        return None
    except (sqlite3.Error, ValueError, TypeError) as exc:
        aside = f"{path}.corrupt"
        try:
            os.replace(path, aside)
        except OSError as move_exc:
            return (
                f"doit state {path} is unreadable ({exc}) and could not be moved aside "
                f"({move_exc.strerror or move_exc}); delete it to rebuild"
            )
        return f"doit state {path} was unreadable ({exc}); moved to {aside}, rebuilding"
