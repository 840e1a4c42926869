"""A memo of content digests keyed by stat facts: hash each unchanged file at most once.

Size, mtime and inode are the shortcut; the blake3 digest is the authority. Both the doit
file checker and the packer's frozen snapshot consult it, so one run hashes a file once
(and a no-op run hashes nothing). Losing or corrupting it costs a re-hash, never a wrong
build: a damaged database is replaced by an empty one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

MEMO_FILE = ".digests.sqlite"

StatKey = tuple[str, int, int, int, int]  # (path label, size, mtime_ns, ctime_ns, inode)


def stat_key(label: str, st: os.stat_result) -> StatKey:
    """The shortcut facts. ctime is in them because `cp -p`, `touch -r` or `rsync -t`
    can rewrite a file and put its old mtime back; they cannot restore ctime."""
    return (label, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


# Like git's "racily clean" rule: stat facts younger than this are not trusted later.
RACY_NS = 2_000_000_000


def is_racy(mtime_ns: int) -> bool:
    return time.time_ns() - mtime_ns < RACY_NS


class DigestMemo:
    """sqlite-backed (safe across processes); values are hex strings, nothing is unpickled."""

    def __init__(self, directory: Path | None) -> None:
        self._lock = threading.Lock()
        self._local: dict[StatKey, str] = {}
        self._pending: dict[StatKey, str] = {}
        self._db: sqlite3.Connection | None = None
        # The database's rows, read on first use: label -> (stat facts, digest).
        self._stored: dict[str, tuple[str, str]] | None = None
        self._version = -1  # PRAGMA data_version when they were read
        if directory is not None:
            self._db = self._open(Path(directory) / MEMO_FILE)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection | None:
        for attempt in range(2):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=30, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                # A lost memo only costs a re-hash: no fsync per commit (WAL stays intact).
                db.execute("PRAGMA synchronous=NORMAL")
                # One row per file: a file's newest stat facts replace its older ones, so
                # the memo stays as small as the project (the first layout kept them all).
                db.execute("DROP TABLE IF EXISTS memo")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS digests "
                    "(label TEXT PRIMARY KEY, facts TEXT NOT NULL, d TEXT NOT NULL)"
                )
                db.execute("SELECT count(*) FROM digests LIMIT 1").fetchone()
                return db
            except sqlite3.DatabaseError:
                if attempt == 0:
                    for suffix in ("", "-wal", "-shm"):
                        with contextlib.suppress(OSError):
                            Path(str(path) + suffix).unlink()
            except OSError:
                return None
        return None

    @staticmethod
    def _facts(key: StatKey) -> str:
        _label, size, mtime, ctime, ino = key
        return f"{size}\0{mtime}\0{ctime}\0{ino}"

    def get(self, key: StatKey) -> str | None:
        with self._lock:
            hit = self._local.get(key)
            if hit is not None or self._db is None:
                return hit
            if self._stored is None:
                self._version = self._data_version(self._db)
                self._stored = self._load_all(self._db)
            facts = self._facts(key)
            row = self._stored.get(key[0])
            if row is None or row[0] != facts:
                # Perhaps written since by another connection (doit's checker): reload
                # only when the database really changed, not once per unknown file.
                version = self._data_version(self._db)
                if version == self._version:
                    return None
                self._version = version
                self._stored = self._load_all(self._db)
                row = self._stored.get(key[0])
            return row[1] if row is not None and row[0] == facts else None

    @staticmethod
    def _data_version(db: sqlite3.Connection) -> int:
        """Changes whenever another connection commits (sqlite's PRAGMA data_version)."""
        try:
            row = db.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return -1
        return int(row[0]) if row else -1

    @staticmethod
    def _load_all(db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
        """Every stored digest in one query: a run asks for most of them, and one query
        costs far less than one per file."""
        try:
            rows = db.execute("SELECT label, facts, d FROM digests").fetchall()
        except sqlite3.Error:
            return {}
        return {
            label: (facts, d)
            for label, facts, d in rows
            if isinstance(label, str)
            and isinstance(facts, str)
            and isinstance(d, str)
            and len(d) == 64
        }

    def put(self, key: StatKey, digest: str) -> None:
        """Remember a digest. A file modified within the last RACY_NS is remembered for this
        run only: a same-size rewrite in the same mtime tick would otherwise go unseen."""
        with self._lock:
            if self._local.get(key) != digest:
                self._local[key] = digest
                if not is_racy(max(key[2], key[3])):
                    self._pending[key] = digest

    def flush(self) -> None:
        """Persist what this run learned (one transaction)."""
        with self._lock:
            if self._db is None or not self._pending:
                self._pending.clear()
                return
            rows: Iterable[tuple[str, str, str]] = [
                (k[0], self._facts(k), d) for k, d in self._pending.items()
            ]
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?)", rows)
            except sqlite3.Error:
                pass  # a lost memo only costs a re-hash next time
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
