"""Cache maintenance: stats, verify, prune, clear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometeu_cache.store import CacheStore

from ..models.results import (
    CacheResult,
    Status,
)
from .base import ServiceBase


class CacheOps(ServiceBase):
    def _cache_result(self, operation: str, summary: str, **kw: Any) -> CacheResult:
        cfg = self.cache_config
        return CacheResult(
            operation=operation,
            operation_id=self.emitter().operation_id,
            status=Status.SUCCESS,
            summary=summary,
            directory=str(cfg.directory) if cfg.directory else None,
            source=cfg.source,
            **kw,
        )

    def _cache_store(self) -> CacheStore | None:
        d = self.cache_config.directory
        return CacheStore(d, size_limit=self.cache_config.size_limit) if d else None

    def _cache_op(
        self, operation: str, act: Callable[[CacheStore], tuple[str, dict[str, Any]]]
    ) -> CacheResult:
        """Run one maintenance action on the store; every result reports its occupancy."""
        store = self._cache_store()
        if store is None:
            return self._cache_result(operation, "caching is disabled")
        with store:
            problem = store.unavailable_reason
            if problem is not None:
                # Not ours, read-only or unopenable: say so (builds run without the cache).
                result = self._cache_result(
                    operation, f"cache unavailable: {problem}; builds run without the cache"
                )
                return result.model_copy(update={"status": Status.FAILED})
            summary, fields = act(store)
            st = store.stats()
        fields.setdefault("recovered", st.recovered)
        return self._cache_result(
            operation,
            summary,
            entries=st.entries,
            volume_bytes=st.volume_bytes,
            size_limit=st.size_limit,
            **fields,
        )

    def cache_stats(self) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            st = store.stats()
            return (
                f"{st.entries} entr(ies), {st.volume_bytes} bytes of {st.size_limit} "
                f"in {st.directory}",
                {},
            )

        return self._cache_op("cache_stats", act)

    def cache_verify(self) -> CacheResult:
        """Re-check every entry; corrupt ones are evicted and reported."""

        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            rep = store.verify()
            return (
                f"checked {rep.checked} entr(ies): {rep.valid} valid, {rep.evicted} "
                "corrupt and evicted",
                {
                    "checked": rep.checked,
                    "evicted": rep.evicted,
                    "evicted_keys": rep.evicted_keys,
                    "recovered": rep.recovered,
                },
            )

        return self._cache_op("cache_verify", act)

    def cache_prune(self, max_size: int | None, older_than_seconds: int | None) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            rep = store.prune(max_size=max_size, older_than_seconds=older_than_seconds)
            return (
                f"evicted {rep.evicted} entr(ies): {rep.volume_before} → {rep.volume_after} bytes",
                {"evicted": rep.evicted},
            )

        return self._cache_op("cache_prune", act)

    def cache_clear(self) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            n = store.clear()
            return f"removed {n} entr(ies)", {"evicted": n}

        return self._cache_op("cache_clear", act)
