"""The local cache with a shared remote behind it (SPEC §11.1), behind the store's interface.

Order: local hit → remote hit (verified by the client, then stored locally) → miss (the
caller materializes and ``put`` stores locally, then uploads when writes are enabled).
The remote never fails a build: its trouble is a miss plus one problem report, and once
the server misbehaves the client's circuit keeps the rest of the run local.

Remote reads for a whole build set start at once (``prefetch``) on a small thread pool, so a
fresh machine is not bound by round trips; uploads run on the same pool while packing goes
on, and ``flush_uploads`` waits for them a bounded time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from prometeu_cache.remote import RemoteClient, RemoteCorrupt, RemoteEntry, RemoteUnavailable
from prometeu_cache.remote_runs import record_run
from prometeu_cache.store import CacheLookup, CacheStore

__all__ = ["RemoteProblem", "TieredCache", "TieredLookup"]

Tier = Literal["local", "remote"]
Accept = Callable[[bytes, dict[str, Any]], str | None]


@dataclass(frozen=True)
class TieredLookup(CacheLookup):
    """A lookup that also says which tier answered a hit."""

    tier: Tier | None = None


@dataclass(frozen=True)
class RemoteProblem:
    """One warning about the remote tier for the run's report."""

    kind: Literal["unavailable", "corrupt", "upload"]
    message: str


@dataclass(frozen=True)
class _Fetched:
    """What the remote gave for one key: the verified entry (and whether it is also stored
    locally), or why not."""

    stored: bool = False
    held: RemoteEntry | None = None
    reason: str = ""


class TieredCache:
    """`CacheStore`'s get/put with a remote tier; also prefetch, uploads and a report."""

    def __init__(self, local: CacheStore, remote: RemoteClient) -> None:
        self.local = local
        self.remote = remote
        self._pool = ThreadPoolExecutor(
            max_workers=remote.settings.connections, thread_name_prefix="prometeu-remote"
        )
        self._lock = threading.Lock()  # local writes from pool threads, shared sets
        self._fetches: dict[str, Future[_Fetched]] = {}
        self._uploads: list[Future[None]] = []
        self._on_remote: set[str] = set()  # keys the server has (never uploaded again)
        self._corrupt: list[str] = []
        self._upload_errors: list[str] = []
        self._abandoned = 0
        self.remote_hits = 0
        self.remote_lookups = 0
        self.uploaded = 0

    # -- the store's interface ----------------------------------------------------------

    @property
    def available(self) -> bool:
        return self.local.available

    @property
    def unavailable_reason(self) -> str | None:
        return self.local.unavailable_reason

    @property
    def directory(self) -> Path:
        return self.local.directory

    def get(self, key: str, accept: Accept | None = None) -> TieredLookup:
        """Local first, then the remote; every remote hit passes `accept` too."""
        pending = self._fetches.pop(key, None)
        fetched = pending.result() if pending is not None else None
        if fetched is None or fetched.held is None:
            look = self.local.get(key, accept)
            if look.hit:
                return _tiered(look, "local")
            self.remote_lookups += 1
            fetched = fetched or self._fetch(key)
        else:  # prefetched because the local tier lacked it
            self.remote_lookups += 1
            look = TieredLookup(False, None, None, False, "absent")
        return self._remote_answer(key, look, fetched, accept)

    def _remote_answer(
        self, key: str, look: CacheLookup, fetched: _Fetched, accept: Accept | None
    ) -> TieredLookup:
        """The lookup after the local tier missed: the remote's verified entry or a miss."""
        entry = fetched.held
        if entry is None:
            return _tiered(look, None, f"{look.reason}; remote: {fetched.reason}")
        refused = accept(entry.payload, entry.meta) if accept is not None else None
        if refused:
            if fetched.stored:
                self.local.get(key, accept)  # the same checks evict the local copy
            return self._rejected(key, look, refused)
        self.remote_hits += 1
        return TieredLookup(
            True, entry.payload, entry.meta, False, "remote hit", entry.blake3, "remote"
        )

    def put(self, key: str, payload: bytes, meta: dict[str, Any]) -> None:
        """Store locally; upload in the background when writes are enabled."""
        with self._lock:
            self.local.put(key, payload, meta)
        if self.remote.settings.write and self.remote.down is None and key not in self._on_remote:
            self._uploads.append(self._pool.submit(self._upload, key, payload, meta))

    @property
    def last_error(self) -> str | None:
        return self.local.last_error

    # -- prefetch and uploads -------------------------------------------------------------

    def prefetch(self, keys: Iterable[str]) -> None:
        """Start remote reads for every key the local tier lacks (read later by `get`)."""
        for key in keys:
            if self.remote.down is not None:
                return
            if key not in self._fetches and not self.local.contains(key):
                self._fetches[key] = self._pool.submit(self._fetch, key)

    def _fetch(self, key: str) -> _Fetched:
        try:
            entry = self.remote.fetch(key)
        except RemoteUnavailable as exc:
            return _Fetched(reason=f"unavailable ({exc})")
        except RemoteCorrupt as exc:
            with self._lock:
                self._corrupt.append(f"{key[:12]}…: {exc}")
            return _Fetched(reason=f"entry rejected ({exc})")
        except Exception as exc:  # whatever the client did not foresee: never fail the build
            reason = f"unexpected {type(exc).__name__}: {str(exc)[:160]}"
            return _Fetched(reason=f"unavailable ({self.remote.give_up(reason)})")
        if entry is None:
            return _Fetched(reason="absent")
        with self._lock:
            self._on_remote.add(key)
            self.local.put(key, entry.payload, entry.meta)
            stored = self.local.last_error is None and self.local.available
        # Held for `get` as well: the verified bytes are used without reading them back.
        return _Fetched(stored=stored, held=entry)

    def _upload(self, key: str, payload: bytes, meta: dict[str, Any]) -> None:
        try:
            self.remote.store(key, payload, meta)
        except RemoteUnavailable:
            return  # the circuit's reason is the report
        except Exception as exc:  # a refusal we did not foresee: a warning, never a failure
            with self._lock:
                self._upload_errors.append(f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            self.uploaded += 1
            self._on_remote.add(key)

    def flush_uploads(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for pending uploads; returns how many were dropped."""
        pending, self._uploads = [f for f in self._uploads if not f.done()], []
        if pending:
            _, still = wait(pending, timeout=timeout)
            for future in still:
                future.cancel()  # a running one is cut off when the client closes
            self._abandoned += len(still)
        return self._abandoned

    def _rejected(self, key: str, look: CacheLookup, why: str) -> TieredLookup:
        """A remote entry that failed the caller's checks: a miss, and a writer replaces it."""
        with self._lock:
            self._corrupt.append(f"{key[:12]}…: {why}")
            self._on_remote.discard(key)
        return _tiered(look, None, f"{look.reason}; remote: entry rejected ({why})")

    # -- the run's report -----------------------------------------------------------------

    def problems(self) -> list[RemoteProblem]:
        """What went wrong with the remote this run, one item per kind."""
        out: list[RemoteProblem] = []
        where = self.remote.shown_url
        if self.remote.down is not None:
            out.append(
                RemoteProblem(
                    "unavailable",
                    f"remote cache {where} unavailable: {self.remote.down}; "
                    "built locally, no further requests this run",
                )
            )
        with self._lock:
            corrupt, failed = list(self._corrupt), list(self._upload_errors)
        if corrupt:
            out.append(
                RemoteProblem(
                    "corrupt",
                    f"{len(corrupt)} remote entr(ies) at {where} failed verification and were "
                    f"treated as misses (first: {corrupt[0]})",
                )
            )
        if failed or self._abandoned:
            detail = f" (first: {failed[0]})" if failed else ""
            out.append(
                RemoteProblem(
                    "upload",
                    f"{len(failed) + self._abandoned} upload(s) to {where} failed or did not "
                    f"finish in time{detail}; the build is complete locally",
                )
            )
        return out

    def close(self, upload_wait: float = 5.0) -> None:
        """Finish (bounded) the uploads, note the run for `cache stats`, release the pool."""
        self.flush_uploads(upload_wait)
        for future in self._fetches.values():
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.remote.close()  # aborts whatever a cancelled upload still had on the wire
        if self.local.available and (self.remote_lookups or self.uploaded):
            record_run(
                self.local.directory,
                lookups=self.remote_lookups,
                hits=self.remote_hits,
                uploaded=self.uploaded,
                down=self.remote.down,
            )
        with self._lock:  # not while a pool thread is storing a fetched entry
            self.local.close()


def _tiered(look: CacheLookup, tier: Tier | None, reason: str | None = None) -> TieredLookup:
    return TieredLookup(
        look.hit,
        look.payload,
        look.meta,
        look.evicted_corrupt,
        reason if reason is not None else look.reason,
        look.payload_blake3,
        tier,
    )
