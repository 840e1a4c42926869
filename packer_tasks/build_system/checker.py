"""doit's file checker, blake3 edition: size/mtime as the shortcut, content as the authority.

The state doit stores per dependency is `[mtime_ns, size, blake3, ctime_ns]`. A file whose
mtime, ctime and size are unchanged is not read; otherwise its digest comes from the run's
digest memo, so a file listed by several tasks is hashed at most once per run. A file the
memo does not know is read into the run's frozen snapshot (SPEC §8): when its content
changed, the asset task that runs next materializes from exactly those bytes instead of
reading and hashing the file a second time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from doit.dependency import FileChangedChecker
from prometeu_cache.digests import DigestMemo, is_racy, stat_key

from .run import current_memo, current_run, label_for

# Bigger files are streamed through the hasher instead of being held for the run.
MAX_FROZEN_READ = 64 * 1024 * 1024


def _digest(path: str, st: os.stat_result, memo: DigestMemo, previous: Any = None) -> str:
    from prometeu_cache.keys import blake3_file

    label = label_for(path)
    key = stat_key(label, st)
    known = memo.get(key)
    if known is not None:
        return known
    run = current_run()
    if run is None or st.st_size > MAX_FROZEN_READ:
        known = blake3_file(path)
        memo.put(key, known)
        return known
    frozen = run.session.frozen
    _, known = frozen.read(Path(path), label)  # also records the digest in the memo
    if known == previous:
        frozen.release([label])  # unchanged content: no task needs these bytes
    return known


class Blake3Checker(FileChangedChecker):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['check_file_uptodate']."""

    def check_modified(self, file_path: str, file_stat: os.stat_result, state: Any) -> bool:
        if not (isinstance(state, list | tuple) and len(state) == 4):
            return True  # unknown or older state format: rebuild, never trust it
        mtime_ns, size, digest, ctime_ns = state
        if file_stat.st_size != size:
            return True
        if file_stat.st_mtime_ns == mtime_ns and file_stat.st_ctime_ns == ctime_ns:
            return False
        return bool(_digest(file_path, file_stat, current_memo(), digest) != digest)

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
        digest = _digest(dep, st, current_memo())
        if is_racy(max(st.st_mtime_ns, st.st_ctime_ns)):
            # Racily fresh stat facts are stored as 0: the next run compares content.
            return [0, st.st_size, digest, 0]
        return [st.st_mtime_ns, st.st_size, digest, st.st_ctime_ns]
