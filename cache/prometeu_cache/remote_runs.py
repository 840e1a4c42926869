"""The last runs' remote-tier counts, kept in the local cache folder for `cache stats`.

A small JSON file beside the store (never pickle, atomically replaced); a damaged or
foreign file reads as "no runs yet" and is simply rewritten by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Final

__all__ = ["KEEP_RUNS", "RUNS_FILE", "recent_runs", "record_run"]

RUNS_FILE: Final = "remote-runs.json"
KEEP_RUNS: Final = 20
_FIELDS: Final = {"at": int, "lookups": int, "hits": int, "uploaded": int}


def recent_runs(directory: Path) -> list[dict[str, Any]]:
    """The recorded runs, oldest first; anything malformed is left out."""
    try:
        data = json.loads((directory / RUNS_FILE).read_text("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        return []
    return [
        r
        for r in runs
        if isinstance(r, dict) and all(type(r.get(k)) is t for k, t in _FIELDS.items())
    ]


def record_run(
    directory: Path, *, lookups: int, hits: int, uploaded: int, down: str | None
) -> None:
    """Append one run (the oldest fall off); a write that fails is simply lost."""
    run = {
        "at": int(time.time()),
        "lookups": lookups,
        "hits": hits,
        "uploaded": uploaded,
        "down": down,
    }
    runs = [*recent_runs(directory), run][-KEEP_RUNS:]
    target = directory / RUNS_FILE
    tmp = directory / f".{RUNS_FILE}.{os.getpid()}.tmp"
    body = (json.dumps({"runs": runs}, sort_keys=True) + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)  # a leftover (or a planted link) is never written through
        fd = os.open(tmp, flags, 0o644)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
