"""Content-addressed payload store over diskcache: raw bytes plus a JSON record, no pickle.

A cache directory restored by CI is untrusted input, so this module:

* never unpickles anything (``NoPickleDisk`` refuses pickled keys and values);
* re-verifies every entry on every read (blake3 of the record and of the payload) and
  evicts whatever fails, so a flipped bit is a miss, never a wrong build;
* audits ``cache.db`` before diskcache opens it (diskcache turns Settings rows into
  attributes and PRAGMAs) and only touches value files named and placed the way
  diskcache names them, inside the cache directory;
* never raises from ``get``/``put`` because of the cache's state: a database that
  cannot be opened is moved aside and the store starts fresh (``recovered`` says so).

One value is a single blob ``b"PPC1" + u32le(len(record)) + record JSON + payload``
written with one ``Cache.set``, so a concurrent reader sees a whole entry or none.
It relies on diskcache 5.x's ``Cache`` table layout for maintenance queries.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, ParamSpec, TypeVar

from diskcache import Cache, Disk, Timeout
from diskcache.core import (
    DBNAME,
    DEFAULT_SETTINGS,
    METADATA,
    MODE_BINARY,
    MODE_PICKLE,
    MODE_RAW,
    UNKNOWN,
)

from prometeu_cache.keys import blake3_hex, canonical_bytes

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "MAGIC",
    "MARKER_CONTENT",
    "MARKER_NAME",
    "CacheLookup",
    "CacheStats",
    "CacheStore",
    "CacheUnavailableError",
    "CorruptEntryError",
    "NoPickleDisk",
    "PruneReport",
    "VerifyReport",
]

MAGIC: Final = b"PPC1"
# Written when the packer creates (or adopts an empty) cache directory: only a directory
# carrying it is ever moved aside or written to; anything else is someone else's data.
MARKER_NAME: Final = ".prometeu-packer-cache"
MARKER_CONTENT: Final = b"prometeu-packer cache directory v1\n"
DEFAULT_SIZE_LIMIT: Final = 2 * 1024**3
# Orphan value files younger than this may belong to a put that has not committed yet.
ORPHAN_GRACE_SECONDS: Final = 600

_PREFIX = struct.Struct("<4sI")
_RECORD_FIELDS = frozenset(
    {"created", "key", "meta", "payload_blake3", "payload_size", "record_blake3"}
)
_HEX2 = re.compile(r"[0-9a-f]{2}")
_VALUE_NAME = re.compile(r"[0-9a-f]{28}\.val")
_VALUE_PATH = re.compile(r"[0-9a-f]{2}[/\\][0-9a-f]{2}[/\\][0-9a-f]{28}\.val")
_BATCH = 64

# What a diskcache 5.x database may contain; anything else means someone else wrote it.
_SCHEMA: Final = {
    ("table", "Settings"),
    ("table", "Cache"),
    ("index", "sqlite_autoindex_Settings_1"),
    ("index", "Cache_key_raw"),
    ("index", "Cache_expire_time"),
    ("index", "Cache_store_time"),
    ("index", "Cache_access_time"),
    ("index", "Cache_access_count"),
    ("index", "Cache_tag_rowid"),
    ("trigger", "Settings_count_insert"),
    ("trigger", "Settings_count_delete"),
    ("trigger", "Settings_size_insert"),
    ("trigger", "Settings_size_update"),
    ("trigger", "Settings_size_delete"),
}
_CACHE_COLUMNS: Final = [
    "rowid",
    "key",
    "raw",
    "store_time",
    "expire_time",
    "access_time",
    "access_count",
    "tag",
    "size",
    "mode",
    "filename",
    "value",
]
_SETTING_KEYS: Final = frozenset(DEFAULT_SETTINGS) | frozenset(METADATA)


class CorruptEntryError(Exception):
    """An entry (or the row holding it) failed a check; it must be evicted, never used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CacheUnavailableError(RuntimeError):
    """The cache directory could not be opened or recovered (maintenance commands only)."""


@dataclass(frozen=True)
class CacheLookup:
    """Outcome of one read; `reason` is a short phrase for the cache_hit/cache_miss event."""

    hit: bool
    payload: bytes | None
    meta: dict[str, Any] | None
    evicted_corrupt: bool
    reason: str
    payload_blake3: str | None = None  # verified on this read; callers need not re-hash


@dataclass(frozen=True)
class CacheStats:
    """Size and occupancy, for `cache stats`."""

    entries: int
    volume_bytes: int
    size_limit: int
    directory: str
    recovered: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    """What `cache verify` checked and threw away."""

    checked: int
    valid: int
    evicted: int
    evicted_keys: list[str] = field(default_factory=list)
    orphans_removed: int = 0
    recovered: str | None = None


@dataclass(frozen=True)
class PruneReport:
    """What `cache prune` evicted and the volume before/after."""

    evicted: int
    volume_before: int
    volume_after: int


# --------------------------------------------------------------------------- disk


class NoPickleDisk(Disk):  # type: ignore[misc]
    """diskcache serializer that only moves bytes: str/bytes keys, bytes values.

    Pickle rows (keys or values) are refused as corrupt instead of being loaded, and value
    files are only read or removed when they look like diskcache's own files inside the
    cache directory, so a hostile ``filename`` column cannot reach anything else.
    """

    def __init__(self, directory: str, min_file_size: int = 0, pickle_protocol: int = 0) -> None:
        super().__init__(directory, min_file_size=min_file_size, pickle_protocol=pickle_protocol)
        # Reading a value file bigger than this is refused (set to the store's size limit).
        self.max_read_size: int = DEFAULT_SIZE_LIMIT

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str and type(key) is not bytes:
            raise TypeError(f"cache keys must be str or bytes, not {type(key).__name__}")
        db_key, raw = super().put(key)
        return db_key, bool(raw)

    def get(self, key: Any, raw: bool) -> str | bytes:
        if not raw:
            raise CorruptEntryError("pickled key refused")
        if isinstance(key, memoryview):
            return bytes(key)
        if isinstance(key, str | bytes):
            return key
        raise CorruptEntryError(f"key of unexpected type {type(key).__name__}")

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> tuple[int, int, Any, Any]:
        if read or type(value) is not bytes:
            raise TypeError("NoPickleDisk stores bytes values only")
        size, mode, filename, db_value = super().store(value, False, key=key)
        return int(size), int(mode), filename, db_value

    def fetch(self, mode: Any, filename: Any, value: Any, read: bool) -> bytes:
        if read:
            raise CorruptEntryError("streamed reads are not supported")
        if mode == MODE_RAW and filename is None:
            if isinstance(value, bytes):
                return value
            raise CorruptEntryError(f"inline value of type {type(value).__name__}, not bytes")
        if mode == MODE_BINARY and value is None:
            return self._read_value_file(filename)
        if mode == MODE_PICKLE:
            raise CorruptEntryError("pickled value refused")
        raise CorruptEntryError(f"unsupported value row (mode {mode!r})")

    def remove(self, file_path: Any) -> None:
        if self._safe_path(file_path) is not None:
            super().remove(file_path)

    def _safe_path(self, filename: Any) -> str | None:
        """Absolute path of a diskcache-shaped value file inside the directory, else None."""
        if not isinstance(filename, str) or not _VALUE_PATH.fullmatch(filename):
            return None
        root = os.path.realpath(self._directory)
        full = os.path.join(self._directory, *re.split(r"[/\\]", filename))
        if os.path.commonpath([root, os.path.realpath(full)]) != root:
            return None
        return full

    def _read_value_file(self, filename: Any) -> bytes:
        full = self._safe_path(filename)
        if full is None:
            raise CorruptEntryError(f"value file name {filename!r} is not a cache file")
        # A FIFO, socket or device must never block us: check the type before opening and
        # open non-blocking anyway (the name could be swapped between the two).
        try:
            if not stat.S_ISREG(os.lstat(full).st_mode):
                raise CorruptEntryError("value file is not a regular file")
        except OSError as exc:
            raise CorruptEntryError(f"value file unreadable ({exc.strerror})") from None
        flags = (
            os.O_RDONLY
            | getattr(os, "O_NOFOLLOW", 0)
            | getattr(os, "O_BINARY", 0)
            | getattr(os, "O_NONBLOCK", 0)
        )
        try:
            fd = os.open(full, flags)
        except OSError as exc:
            raise CorruptEntryError(f"value file unreadable ({exc.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise CorruptEntryError("value file is not a regular file")
            if info.st_size > self.max_read_size:
                raise CorruptEntryError("value file larger than the cache size limit")
            # Ask for the size fstat gave (plus one byte, to notice growth): a read of
            # `max_read_size + 1` would allocate that whole buffer for every entry.
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(min(info.st_size, self.max_read_size) + 1)
        except OSError as exc:
            raise CorruptEntryError(f"value file unreadable ({exc.strerror})") from None
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- entries


def _encode_entry(key: str, payload: bytes, meta: dict[str, Any]) -> bytes:
    """One self-checking blob: the record covers itself, the key and the payload."""
    record: dict[str, Any] = {
        "created": int(time.time()),
        "key": key,
        "meta": meta,
        "payload_blake3": blake3_hex(payload),
        "payload_size": len(payload),
    }
    try:
        record["record_blake3"] = blake3_hex(canonical_bytes(record))
        record_bytes = canonical_bytes(record)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cache meta must be plain JSON (no NaN): {exc}") from None
    # Round-trip now so a meta that would not read back identically fails at put time.
    if json.loads(record_bytes)["meta"] != meta:
        raise ValueError("cache meta must be plain JSON: str keys, lists not tuples")
    return _PREFIX.pack(MAGIC, len(record_bytes)) + record_bytes + payload


def _decode_entry(key: str, blob: bytes) -> tuple[bytes, dict[str, Any], str]:
    """Payload and meta of a blob, or CorruptEntryError naming the first failed check."""
    if len(blob) < _PREFIX.size:
        raise CorruptEntryError("truncated header")
    magic, record_len = _PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise CorruptEntryError("bad magic")
    end = _PREFIX.size + record_len
    if end > len(blob):
        raise CorruptEntryError("truncated record")
    record_bytes = blob[_PREFIX.size : end]
    try:
        record = json.loads(record_bytes.decode("utf-8"))
        canonical = isinstance(record, dict) and canonical_bytes(record) == record_bytes
    except (ValueError, RecursionError):
        raise CorruptEntryError("record is not valid JSON") from None
    if not canonical or set(record) != _RECORD_FIELDS:
        raise CorruptEntryError("record is malformed")
    claimed = record.pop("record_blake3")
    if claimed != blake3_hex(canonical_bytes(record)):
        raise CorruptEntryError("record digest mismatch")
    if record["key"] != key:
        raise CorruptEntryError("entry belongs to another key")
    payload = blob[end:]
    size = record["payload_size"]
    if type(size) is not int or size != len(payload):
        raise CorruptEntryError("payload size mismatch")
    digest = blake3_hex(payload)
    if record["payload_blake3"] != digest:
        raise CorruptEntryError("payload digest mismatch")
    meta = record["meta"]
    if not isinstance(meta, dict) or type(record["created"]) is not int:
        raise CorruptEntryError("record is malformed")
    return payload, meta, digest


# --------------------------------------------------------------------------- helpers


def _is_busy(exc: BaseException) -> bool:
    """Lock contention is not corruption: never move a busy cache aside."""
    if isinstance(exc, Timeout):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return False


def _audit_database(db_path: Path) -> str | None:
    """Why `cache.db` must not be handed to diskcache, or None if it looks like its own.

    diskcache applies Settings rows as attributes and interpolates ``sqlite_*`` values into
    PRAGMA statements, so an untrusted database is checked before it is opened.
    """
    try:
        info = os.lstat(db_path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return f"{DBNAME} is not a regular file"
    with contextlib.closing(sqlite3.connect(db_path, timeout=5.0)) as con:
        objects = {(str(t), str(n)) for t, n in con.execute("SELECT type, name FROM sqlite_master")}
        unknown = objects - _SCHEMA
        if unknown:
            return f"unexpected database objects {sorted(unknown)}"
        if ("table", "Cache") in objects:
            columns = [row[1] for row in con.execute("PRAGMA table_info(Cache)")]
            if columns != _CACHE_COLUMNS:
                return "unexpected Cache table layout"
        if ("table", "Settings") in objects:
            for key, value in con.execute("SELECT key, value FROM Settings"):
                if key not in _SETTING_KEYS:
                    return f"unexpected setting {key!r}"
                if key in METADATA and type(value) is not int:
                    return f"setting {key!r} is not an integer"
    return None


@dataclass(frozen=True)
class _Row:
    rowid: int
    key: Any
    raw: Any
    store_time: Any
    mode: Any
    filename: Any
    value: Any


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _maintenance(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Maintenance commands report lock contention as CacheUnavailableError, not sqlite's."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except (Timeout, sqlite3.OperationalError) as exc:
            if _is_busy(exc):
                raise CacheUnavailableError(f"cache is busy: {exc}") from exc
            raise

    return wrapper


_Eviction = Literal["evicted", "changed", "failed"]
_Handled = Literal["recovered", "reopened", "kept"]


# --------------------------------------------------------------------------- store


class CacheStore:
    """Verified, pickle-free payload cache in one directory (SPEC §11).

    Safe to share between threads and processes; every failure caused by the directory's
    state turns into a miss (``get``) or a dropped write (``put``, see ``last_error``).
    ``recovered`` describes the last time a broken directory was moved aside.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        size_limit: int = DEFAULT_SIZE_LIMIT,
        *,
        timeout: float = 10.0,
    ) -> None:
        if size_limit <= 0:
            raise ValueError("size_limit must be positive")
        # Expanded like diskcache does, so both sides always mean the same folder.
        raw = os.path.expandvars(os.path.expanduser(os.fspath(directory)))
        self._directory = Path(raw).absolute()
        self._size_limit = int(size_limit)
        self._timeout = timeout
        self._lock = threading.RLock()
        self._cache: Any = None
        self._unavailable: str | None = None
        self.recovered: str | None = None
        self.last_error: str | None = None
        self._open()

    # ----------------------------------------------------------------- lifecycle

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def size_limit(self) -> int:
        return self._size_limit

    @property
    def available(self) -> bool:
        """False only when the directory could be neither opened nor recovered."""
        return self._cache is not None

    def _make_cache(self) -> Any:
        # Every known setting is passed explicitly so nothing stored in the database wins.
        settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        settings.update(
            size_limit=self._size_limit,
            eviction_policy="least-recently-stored",
            statistics=0,
            tag_index=0,
            # mmap turns a file truncated under us into SIGBUS; plain reads give errors.
            sqlite_mmap_size=0,
        )
        cache = Cache(str(self._directory), timeout=self._timeout, disk=NoPickleDisk, **settings)
        try:
            cache.disk.max_read_size = self._size_limit
            cache._sql("SELECT rowid FROM Cache LIMIT 1").fetchall()
        except BaseException:
            cache.close()
            raise
        return cache

    @property
    def unavailable_reason(self) -> str | None:
        """Why the cache cannot be used (not ours, read-only, ...), or None when it is open."""
        return None if self._cache is not None else (self._unavailable or "cache is not open")

    def _claim(self) -> str | None:
        """Make sure the directory is one the packer created; the problem otherwise.

        A missing directory is created with the marker; an empty one is adopted. A file, a
        special file or a non-empty directory without the marker is someone else's and is
        never written to nor moved aside.
        """
        d = self._directory
        try:
            info = os.stat(d)
        except FileNotFoundError:
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as exc:
                return f"cannot create cache directory {d}: {exc.strerror or exc}"
            return self._write_marker()
        except OSError as exc:
            return f"cannot use cache directory {d}: {exc.strerror or exc}"
        if not stat.S_ISDIR(info.st_mode):
            return (
                f"cache directory {d} exists and is not a directory; "
                "it was left untouched (choose another cache directory)"
            )
        if _has_marker(d):
            return self._probe_writable()
        try:
            names = os.listdir(d)
        except OSError as exc:
            return f"cannot list cache directory {d}: {exc.strerror or exc}"
        if names:
            return (
                f"cache directory {d} is not empty and has no {MARKER_NAME} marker: "
                "not a cache the packer created; it was left untouched "
                "(choose another cache directory)"
            )
        return self._write_marker()

    def _write_marker(self) -> str | None:
        marker = self._directory / MARKER_NAME
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(marker, flags, 0o644)
        except FileExistsError:
            return None if _has_marker(self._directory) else self._claim_conflict()
        except OSError as exc:
            return f"cache directory {self._directory} is not writable: {exc.strerror or exc}"
        try:
            os.write(fd, MARKER_CONTENT)
        except OSError as exc:
            return f"cache directory {self._directory} is not writable: {exc.strerror or exc}"
        finally:
            os.close(fd)
        return None

    def _claim_conflict(self) -> str:
        return (
            f"{self._directory / MARKER_NAME} is not the packer's marker; "
            "the directory was left untouched"
        )

    def _probe_writable(self) -> str | None:
        """A read-only cache is reported (and the build runs without it), never moved."""
        if not os.access(self._directory, os.W_OK | os.X_OK):
            return f"cache directory {self._directory} is read-only"
        return None

    def _open(self) -> None:
        """Open the directory; move it aside and start fresh if it is not a sound cache."""
        problem: str | None
        claim = self._claim()
        if claim is not None:
            self._cache = None
            self._unavailable = claim
            return
        try:
            problem = _audit_database(self._directory / DBNAME)
        except Exception as exc:
            problem = None if _is_busy(exc) else f"unreadable {DBNAME}: {exc}"
        if problem is None:
            try:
                self._cache = self._make_cache()
                self._unavailable = None
                return
            except Exception as exc:
                if _is_busy(exc):
                    self._unavailable = f"cache is busy: {exc}"
                    return
                problem = f"cannot open cache: {exc}"
                if not os.access(self._directory, os.W_OK | os.X_OK):
                    self._unavailable = f"cache directory {self._directory} is read-only: {exc}"
                    return
        if not self._move_aside(problem):
            self._unavailable = problem
            return
        try:
            claim = self._claim()
            if claim is not None:
                raise OSError(claim)
            self._cache = self._make_cache()
            self._unavailable = None
        except Exception as exc:
            self._cache = None
            self._unavailable = f"{problem}; fresh cache failed too: {exc}"

    def _move_aside(self, reason: str) -> bool:
        """Rename the broken directory to `<dir>.corrupt-<n>` (kept for inspection).

        Only a directory carrying the packer's marker is moved; False (nothing done) for
        anything else, which is then reported instead.
        """
        target: Path | None = None
        if os.path.lexists(self._directory):
            if os.path.islink(self._directory) or not _has_marker(self._directory):
                self.recovered = None
                return False
            for n in range(1, 1000):
                candidate = self._directory.with_name(f"{self._directory.name}.corrupt-{n}")
                if os.path.lexists(candidate):
                    continue
                try:
                    os.rename(self._directory, candidate)
                except FileNotFoundError:
                    break  # another process already moved it
                except OSError:
                    continue
                target = candidate
                break
        where = f"moved aside to {target}" if target else "started fresh"
        self.recovered = f"{reason}; {where}"
        return True

    def _recover(self, failed: Any, reason: str) -> None:
        """Replace a cache whose database broke mid-run (once, even with many threads)."""
        with self._lock:
            if self._cache is not failed:
                return
            with contextlib.suppress(Exception):
                failed.close()
            self._cache = None
            if not self._move_aside(reason):
                self._unavailable = reason
                return
            try:
                claim = self._claim()
                if claim is not None:
                    raise OSError(claim)
                self._cache = self._make_cache()
            except Exception as exc:
                self._unavailable = f"{reason}; fresh cache failed too: {exc}"

    def _handle_db_error(self, cache: Any, exc: Exception) -> _Handled:
        """Classify an unexpected error and repair what can be repaired.

        "recovered": the database was corrupt and has been moved aside (its entries are
        gone); "reopened": the connection was replaced, worth one retry; "kept": busy or
        not a database problem, nothing changed.
        """
        self.last_error = f"{type(exc).__name__}: {exc}"
        if _is_busy(exc) or not isinstance(exc, sqlite3.DatabaseError):
            return "kept"
        with self._lock:
            if self._cache is not cache:
                return "reopened"  # another thread already replaced it
            if not isinstance(exc, sqlite3.OperationalError):
                self._recover(cache, f"corrupt {DBNAME}: {exc}")
                return "recovered"
            # e.g. the directory vanished under us: reopen, auditing on the way.
            before = self.recovered
            with contextlib.suppress(Exception):
                cache.close()
            self._cache = None
            self._open()
            return "reopened" if self.recovered is before else "recovered"

    def close(self) -> None:
        cache = self._cache
        if cache is not None:
            cache.close()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require(self) -> Any:
        cache = self._cache
        if cache is None:
            raise CacheUnavailableError(self._unavailable or "cache is not open")
        return cache

    # ----------------------------------------------------------------- rows

    def _select_rows(self, cache: Any, where: str, args: Sequence[Any]) -> list[_Row]:
        sql = "SELECT rowid, key, raw, store_time, mode, filename, value FROM Cache " + where
        return [_Row(*row) for row in cache._sql(sql, tuple(args)).fetchall()]

    def _evict_row(self, cache: Any, row: _Row) -> _Eviction:
        """Delete exactly the row that was read, so a concurrent fresh put survives."""
        try:
            with cache.transact():
                cursor = cache._sql(
                    "DELETE FROM Cache WHERE rowid = ? AND store_time IS ? AND filename IS ?",
                    (row.rowid, row.store_time, row.filename),
                )
                deleted = cursor.rowcount == 1
        except Exception as exc:
            return "evicted" if self._handle_db_error(cache, exc) == "recovered" else "failed"
        if not deleted:
            return "changed"
        if row.filename is not None:
            cache.disk.remove(row.filename)
        return "evicted"

    def _delete_rows(self, cache: Any, rows: Sequence[_Row]) -> int:
        """Delete rows by rowid in one transaction, then their value files."""
        if not rows:
            return 0
        marks = ",".join("?" for _ in rows)
        with cache.transact():
            cursor = cache._sql(
                f"DELETE FROM Cache WHERE rowid IN ({marks})", [r.rowid for r in rows]
            )
            count = int(cursor.rowcount)
        for row in rows:
            if row.filename is not None:
                cache.disk.remove(row.filename)
        return count

    # ----------------------------------------------------------------- get / put

    def contains(self, key: str) -> bool:
        """Whether an entry for `key` is stored (unverified: `get` still checks it). Cheap,
        for deciding what to fetch from a remote tier; False when the cache is unusable."""
        _check_key(key)
        cache = self._cache
        if cache is None:
            return False
        try:
            rows = cache._sql("SELECT 1 FROM Cache WHERE key = ? AND raw = 1", (key,)).fetchall()
        except Exception:
            return False
        return bool(rows)

    def get(
        self, key: str, accept: Callable[[bytes, dict[str, Any]], str | None] | None = None
    ) -> CacheLookup:
        """Verified lookup; any defect is a miss and the defective entry is evicted.

        ``accept(payload, meta)`` is the caller's own check of a verified entry (e.g. the
        family's size and metadata rules): a reason it returns makes the entry corrupt too.
        """
        _check_key(key)
        for _ in range(3):
            cache = self._cache
            if cache is None:
                return _miss(f"cache unavailable: {self._unavailable}")
            try:
                rows = self._select_rows(cache, "WHERE key = ? AND raw = 1", (key,))
            except Exception as exc:
                handled = self._handle_db_error(cache, exc)
                if handled == "recovered":
                    return _miss(f"corrupt database replaced: {exc}", evicted=True)
                if handled == "reopened":
                    continue
                return _miss(f"cache read failed: {exc}")
            if not rows:
                return _miss("absent")
            row = rows[0]
            try:
                blob = cache.disk.fetch(row.mode, row.filename, row.value, False)
                payload, meta, digest = _decode_entry(key, blob)
                refused = accept(payload, meta) if accept is not None else None
                if refused:
                    raise CorruptEntryError(refused)
            except Exception as exc:
                reason = exc.reason if isinstance(exc, CorruptEntryError) else repr(exc)
                outcome = self._evict_row(cache, row)
                if outcome == "changed":
                    continue  # replaced by another writer while we read it: look again
                if outcome == "failed":
                    return _miss(f"corrupt entry (eviction failed: {self.last_error}): {reason}")
                return _miss(f"corrupt entry evicted: {reason}", evicted=True)
            return CacheLookup(True, payload, meta, False, "hit", digest)
        return _miss("entry kept changing during lookup")

    def put(self, key: str, payload: bytes, meta: dict[str, Any]) -> None:
        """Store one entry with a single ``set``; failures are recorded, never raised.

        Raises ValueError/TypeError only for caller mistakes (bad key, payload or meta).
        ``last_error`` is cleared first, so it tells whether this put was dropped.
        """
        self.last_error = None
        _check_key(key)
        if type(payload) is not bytes:
            raise TypeError("payload must be bytes")
        if not isinstance(meta, dict):
            raise TypeError("meta must be a dict")
        blob = _encode_entry(key, payload, meta)
        if len(blob) > self._size_limit:
            self.last_error = "entry larger than the cache size limit; not stored"
            return
        for _ in range(2):
            cache = self._cache
            if cache is None:
                self.last_error = f"cache unavailable: {self._unavailable}"
                return
            try:
                cache.set(key, blob, retry=False)
                return
            except Exception as exc:
                if self._handle_db_error(cache, exc) == "kept":
                    return

    # ----------------------------------------------------------------- maintenance

    @_maintenance
    def stats(self) -> CacheStats:
        """Entry count and on-disk volume (database pages plus value files)."""
        cache = self._require()
        ((entries,),) = cache._sql("SELECT COUNT(*) FROM Cache").fetchall()
        return CacheStats(
            entries=int(entries),
            volume_bytes=int(cache.volume()),
            size_limit=self._size_limit,
            directory=str(self._directory),
            recovered=self.recovered,
        )

    def _iter_rows(self, cache: Any) -> Iterator[_Row]:
        """All rows in batches, without holding a lock across the whole scan."""
        last = 0
        while True:
            rows = self._select_rows(
                cache, "WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, _BATCH)
            )
            if not rows:
                return
            yield from rows
            last = rows[-1].rowid

    @_maintenance
    def verify(self) -> VerifyReport:
        """Check every entry like ``get`` does, evict the bad ones and sweep orphan files."""
        cache = self._require()
        try:
            integrity = cache._sql("PRAGMA integrity_check").fetchall()
        except Exception as exc:
            if _is_busy(exc):
                raise CacheUnavailableError(f"cache is busy: {exc}") from exc
            integrity = [(str(exc),)]
        if integrity != [("ok",)]:
            detail = "; ".join(str(r[0]) for r in integrity[:3])
            self._recover(cache, f"{DBNAME} failed its integrity check: {detail}")
            return VerifyReport(0, 0, 0, [], 0, self.recovered)
        checked = valid = 0
        evicted: list[str] = []
        for row in self._iter_rows(cache):
            checked += 1
            plain = row.raw == 1 and isinstance(row.key, str)
            try:
                if not plain:
                    raise CorruptEntryError("key is not plain text (pickled keys are refused)")
                _decode_entry(row.key, cache.disk.fetch(row.mode, row.filename, row.value, False))
                valid += 1
            except Exception:
                if self._evict_row(cache, row) == "evicted":
                    evicted.append(row.key if plain else f"<row {row.rowid}>")
                else:
                    checked -= 1  # replaced concurrently: not ours to judge
        orphans = self._sweep_orphans(cache, ORPHAN_GRACE_SECONDS)
        self._resync_totals(cache)
        return VerifyReport(checked, valid, len(evicted), evicted, orphans, self.recovered)

    def _resync_totals(self, cache: Any) -> None:
        """Recount diskcache's count/size totals, which culling relies on."""
        with cache.transact():
            cache._sql(
                "UPDATE Settings SET value = (SELECT COUNT(*) FROM Cache) WHERE key = 'count'"
            )
            cache._sql(
                "UPDATE Settings SET value = (SELECT COALESCE(SUM(size), 0) FROM Cache)"
                " WHERE key = 'size'"
            )

    def _sweep_orphans(self, cache: Any, grace_seconds: float) -> int:
        """Remove value files no row points at (e.g. after cache.db was deleted)."""
        referenced = {
            os.path.normpath(name)
            for (name,) in cache._sql(
                "SELECT filename FROM Cache WHERE filename IS NOT NULL"
            ).fetchall()
            if isinstance(name, str)
        }
        cutoff = time.time() - grace_seconds
        removed = 0
        for top in _plain_subdirs(self._directory):
            for sub in _plain_subdirs(top):
                for entry in os.scandir(sub):
                    rel = os.path.join(top.name, sub.name, entry.name)
                    if not _VALUE_NAME.fullmatch(entry.name) or rel in referenced:
                        continue
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                            os.remove(entry.path)
                            removed += 1
                with contextlib.suppress(OSError):
                    os.rmdir(sub)
            with contextlib.suppress(OSError):
                os.rmdir(top)
        return removed

    @_maintenance
    def prune(
        self, max_size: int | None = None, older_than_seconds: int | None = None
    ) -> PruneReport:
        """Drop entries stored more than `older_than_seconds` ago, then the oldest ones
        until the volume is at most `max_size` bytes."""
        if max_size is not None and max_size < 0:
            raise ValueError("max_size must be >= 0")
        if older_than_seconds is not None and older_than_seconds < 0:
            raise ValueError("older_than_seconds must be >= 0")
        cache = self._require()
        before = int(cache.volume())
        evicted = 0
        if older_than_seconds is not None:
            cutoff = time.time() - older_than_seconds
            while rows := self._select_rows(
                cache,
                "WHERE store_time IS NULL OR store_time < ? ORDER BY store_time LIMIT ?",
                (cutoff, _BATCH),
            ):
                evicted += self._delete_rows(cache, rows)
        if max_size is not None:
            while (excess := int(cache.volume()) - max_size) > 0:
                batch = self._oldest_covering(cache, excess)
                if not batch:
                    break
                evicted += self._delete_rows(cache, batch)
        return PruneReport(evicted, before, int(cache.volume()))

    def _oldest_covering(self, cache: Any, excess: int) -> list[_Row]:
        """Shortest oldest-first run of rows whose sizes add up to `excess` (at least one)."""
        sizes = cache._sql(
            "SELECT rowid, CASE WHEN typeof(size) = 'integer' THEN size ELSE 0 END"
            " + COALESCE(length(value), 0) FROM Cache ORDER BY store_time, rowid LIMIT ?",
            (_BATCH,),
        ).fetchall()
        wanted: list[int] = []
        freed = 0
        for rowid, size in sizes:
            wanted.append(rowid)
            freed += size
            if freed >= excess:
                break
        if not wanted:
            return []
        marks = ",".join("?" for _ in wanted)
        return self._select_rows(cache, f"WHERE rowid IN ({marks})", wanted)

    @_maintenance
    def clear(self) -> int:
        """Remove every entry and stray value file; returns the number of entries."""
        cache = self._require()
        count = int(cache.clear(retry=False))
        self._sweep_orphans(cache, 0)
        self._resync_totals(cache)
        return count


def _plain_subdirs(parent: Path) -> list[Path]:
    """Two-hex-digit subdirectories (not symlinks): the only places diskcache writes."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    return [
        Path(e.path) for e in entries if _HEX2.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
    ]


def _has_marker(directory: Path) -> bool:
    """True when `directory` holds the packer's marker (a small regular file, exact bytes)."""
    marker = directory / MARKER_NAME
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return False
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(marker, flags)
    except OSError:
        return False
    try:
        return os.read(fd, len(MARKER_CONTENT) + 1) == MARKER_CONTENT
    except OSError:
        return False
    finally:
        os.close(fd)


def _check_key(key: str) -> None:
    if type(key) is not str or not key:
        raise TypeError("cache keys are non-empty str")


def _miss(reason: str, *, evicted: bool = False) -> CacheLookup:
    return CacheLookup(False, None, None, evicted, reason)
