"""doit's file checker, blake3 edition: size/mtime/ctime as the shortcut, content as the
authority, plus the doit state file's own health.

The state doit stores per dependency is `[mtime_ns, size, blake3, ctime_ns]`. A file whose
mtime, ctime and size are unchanged is not read; otherwise its digest comes from the
project's digest memo (the one the packer's builds use, keyed by stat facts) or it is hashed
and remembered there, so a touched file is hashed once, not on every run. This only decides
which asset tasks run: whether build/ is up to date is decided by the service from build/'s
own record, never from doit's state.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from doit.dependency import FileChangedChecker
from prometeu_cache.digests import DigestMemo, is_racy, stat_key
from prometeu_cache.keys import blake3_file

from ..workspace.project import META_DIR
from .state_file import heal_dep_file


class Blake3Checker(FileChangedChecker):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['check_file_uptodate'] (see `checker_for`). doit makes
    one per command run; it keeps the digest memos of the projects its files live in."""

    def __init__(self) -> None:
        super().__init__()
        self._roots: dict[str, Path | None] = {}  # folder -> project root (None: none)
        self._memos: dict[Path, DigestMemo] = {}  # project root -> its digest memo

    def _memo_for(self, path: str) -> tuple[str, DigestMemo] | None:
        """The project (the folder above whose `assets/.prometeu` holds the file, as a
        string ending in '/') and its digest memo (one per project); None for a file
        outside any project. String paths: doit asks once per dependency."""
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in self._roots:
            self._roots[folder] = self._project_of(Path(folder))
        root = self._roots[folder]
        if root is None:
            return None
        if root not in self._memos:
            self._memos[root] = DigestMemo(root / "assets" / META_DIR)
        return str(root) + os.sep, self._memos[root]

    @staticmethod
    def _project_of(folder: Path) -> Path | None:
        return next(
            (
                parent.parent
                for parent in folder.parents
                if parent.name == "assets" and (parent / META_DIR).is_dir()
            ),
            None,
        )

    def digest(self, path: str, st: os.stat_result) -> str:
        """The file's blake3: from the project's memo by stat facts, or hashed (and
        remembered at once, so the build that follows in this run finds it)."""
        found = self._memo_for(path)
        if found is None:
            return blake3_file(path)
        root, memo = found
        label = os.path.abspath(path)[len(root) :].replace(os.sep, "/")
        key = stat_key(label, st)
        known = memo.get(key)
        if known is None:
            known = blake3_file(path)
            memo.put(key, known)
            memo.flush()
        return known

    def check_modified(self, file_path: str, file_stat: os.stat_result, state: Any) -> bool:
        if not (isinstance(state, list | tuple) and len(state) == 4):
            return True  # unknown or older state format: rebuild, never trust it
        mtime_ns, size, digest, ctime_ns = state
        if file_stat.st_size != size:
            return True
        if file_stat.st_mtime_ns == mtime_ns and file_stat.st_ctime_ns == ctime_ns:
            return False
        return bool(self.digest(file_path, file_stat) != digest)

    def get_state(self, dep: str, current_state: Any) -> list[Any] | None:
        st = os.stat(dep)
        if (
            isinstance(current_state, list | tuple)
            and len(current_state) == 4
            and current_state[0] == st.st_mtime_ns
            and current_state[1] == st.st_size
            and current_state[3] == st.st_ctime_ns
        ):
            return None
        digest = self.digest(dep, st)
        if is_racy(max(st.st_mtime_ns, st.st_ctime_ns)):
            # Racily fresh stat facts are stored as 0: the next run compares content.
            return [0, st.st_size, digest, 0]
        return [st.st_mtime_ns, st.st_size, digest, st.st_ctime_ns]


def checker_for(dep_file: str) -> type[Blake3Checker]:
    """The checker class for a doit state file. doit builds the checker right before it
    opens the state file, so this is where a corrupt one is moved aside (one re-hash,
    never a crash) — not when `packer_tasks.dodo` is imported."""

    class HealingBlake3Checker(Blake3Checker):
        def __init__(self) -> None:
            super().__init__()
            message = heal_dep_file(dep_file)
            if message:
                sys.stderr.write(f"packer: {message}\n")

    return HealingBlake3Checker
