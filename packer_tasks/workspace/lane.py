"""The write lane (SPEC §9): one writer per project across threads and processes.

A process-wide re-entrant lock orders threads; an exclusive lock on
`assets/.prometeu/.write.lock` orders processes (two terminals, doit and the CLI at once).
Readers that load from disk take a *shared* lock on the same file, so they run together
but never observe a multi-step write (a relocate's move + registry update) half-applied.
The locks are portalocker's (`flock` on POSIX, `LockFileEx` on Windows): the system drops
them when their process dies, so a killed writer never wedges the project.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import portalocker
from portalocker import LockFlags
from portalocker.exceptions import AlreadyLocked, LockException

_locks: dict[Path, threading.RLock] = {}
_depth: dict[Path, int] = {}
_fds: dict[Path, int] = {}
_owner: dict[Path, int] = {}
_guard = threading.Lock()


class LaneBusy(Exception):
    """Another process held the write lane for longer than we agreed to wait."""


def _thread_lock(path: Path) -> threading.RLock:
    with _guard:
        return _locks.setdefault(path, threading.RLock())


@contextmanager
def write_lane(lock_path: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the project's write lane for the duration of the block."""
    key = Path(os.path.realpath(lock_path))
    rlock = _thread_lock(key)
    if not rlock.acquire(timeout=timeout):
        raise LaneBusy(f"another thread held the write lane for {timeout:.0f}s")
    try:
        if _depth.get(key, 0) == 0:
            # Hold the gate while waiting, so new readers queue behind this writer.
            gate = _acquire_flock(_gate(lock_path), timeout, LockFlags.EXCLUSIVE)
            try:
                _fds[key] = _acquire_flock(lock_path, timeout, LockFlags.EXCLUSIVE)
            finally:
                _release(gate)
            _owner[key] = threading.get_ident()
        _depth[key] = _depth.get(key, 0) + 1
        try:
            yield
        finally:
            _depth[key] -= 1
            if _depth[key] == 0:
                _owner.pop(key, None)
                _release(_fds.pop(key))
    finally:
        rlock.release()


@contextmanager
def read_lane(lock_path: Path, timeout: float = 120.0) -> Iterator[None]:
    """Shared access for a disk read; a no-op inside this thread's own write lane, and
    when the project is read-only (nobody can be writing it through us then)."""
    key = Path(os.path.realpath(lock_path))
    if _owner.get(key) == threading.get_ident():
        yield
        return
    try:
        gate = _acquire_flock(_gate(lock_path), timeout, LockFlags.SHARED)
        try:
            fd = _acquire_flock(lock_path, timeout, LockFlags.SHARED)
        finally:
            _release(gate)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        _release(fd)


def _gate(lock_path: Path) -> Path:
    """Writers hold this while they wait: readers pass it first, so writers never starve."""
    return lock_path.with_name(lock_path.name + ".gate")


def _release(fd: int) -> None:
    try:
        portalocker.unlock(fd)
    finally:
        os.close(fd)


def _open_lock(lock_path: Path) -> int:
    """The lock file, created if we may; on a read-only checkout, the file read-only or
    its folder (flock works on any open descriptor), so packing into a writable build/
    still works."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            return os.open(lock_path, os.O_RDONLY)
        except OSError:
            return os.open(lock_path.parent, os.O_RDONLY)


def _acquire_flock(lock_path: Path, timeout: float, mode: LockFlags) -> int:
    """A shared or exclusive lock on `lock_path` within `timeout` seconds, or LaneBusy."""
    fd = _open_lock(lock_path)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            portalocker.lock(fd, mode | LockFlags.NON_BLOCKING)
            return fd
        except AlreadyLocked:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LaneBusy(
                    f"another packer process held {lock_path} for {timeout:.0f}s"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        except LockException as exc:  # not contention: the lock itself failed
            os.close(fd)
            raise OSError(f"cannot lock {lock_path}: {exc}") from exc
