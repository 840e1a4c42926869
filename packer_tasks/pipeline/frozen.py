"""The frozen execution snapshot of SPEC §8: each build input is read once and hashed.

From the moment a file's bytes are read, the run uses only those bytes and their blake3.
Files whose stat facts are in the digest memo are not read at all unless their bytes are
needed (a cache miss); when they are, the digest is recomputed from what was read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from prometeu_cache.digests import DigestMemo, StatKey, stat_key
from prometeu_cache.keys import blake3_hex


@dataclass(frozen=True)
class FrozenFile:
    label: str
    digest: str
    data: bytes | None


class FrozenInputs:
    """Per-run reader; `label` is the project-relative POSIX path (never absolute)."""

    def __init__(self, memo: DigestMemo | None = None) -> None:
        self.memo = memo or DigestMemo(None)
        self._files: dict[str, FrozenFile] = {}
        self.bytes_read = 0
        self.files_hashed = 0

    @staticmethod
    def stat_key(path: str | Path, label: str) -> StatKey:
        st = os.stat(path)
        return stat_key(label, st)

    def digest(self, path: str | Path, label: str) -> str:
        """The file's digest, from this run, the memo, or by reading it (kept for reuse)."""
        known = self._files.get(label)
        if known is not None:
            return known.digest
        memo_digest = self.memo.get(self.stat_key(path, label))
        if memo_digest is not None:
            self._files[label] = FrozenFile(label, memo_digest, None)
            return memo_digest
        return self.read(path, label)[1]

    def read(self, path: str | Path, label: str) -> tuple[bytes, str]:
        """The file's frozen bytes and their digest; read from disk at most once per run."""
        known = self._files.get(label)
        if known is not None and known.data is not None:
            return known.data, known.digest
        with open(path, "rb") as fh:
            before = stat_key(label, os.fstat(fh.fileno()))
            data = fh.read()
            st = os.fstat(fh.fileno())
        self.bytes_read += len(data)
        key = stat_key(label, st)
        # Unchanged stat facts while reading, known to the memo: the digest is known too
        # (the memo's premise); anything else is hashed from the bytes we hold.
        digest = self.memo.get(key) if key == before and st.st_size == len(data) else None
        if digest is None:
            digest = blake3_hex(data)
            self.files_hashed += 1
            if st.st_size == len(data):  # the stat facts describe exactly the bytes hashed
                self.memo.put(key, digest)
        self._files[label] = FrozenFile(label, digest, data)
        return data, digest

    def release(self, labels: list[str]) -> None:
        """Drop bytes no longer needed (digests stay frozen for the run)."""
        for label in labels:
            f = self._files.get(label)
            if f is not None and f.data is not None:
                self._files[label] = FrozenFile(label, f.digest, None)

    def known_digest(self, label: str) -> str | None:
        f = self._files.get(label)
        return f.digest if f else None
