"""Cache maintenance: stats, verify, prune, clear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometeu_cache.remote import RemoteClient, RemoteUnavailable
from prometeu_cache.remote_runs import recent_runs
from prometeu_cache.store import CacheStore

from ..models.diagnostic import warning
from ..models.remote_cache import RemoteTierStatus, TieredCacheResult
from ..models.results import (
    CacheResult,
    Status,
)
from .base import ServiceBase

# How many recorded runs `cache stats` sums for the remote hit rate.
RECENT_RUNS = 10


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

        return self._with_remote(self._cache_op("cache_stats", act))

    def remote_status(self) -> RemoteTierStatus | None:
        """The remote tier: one HEAD round trip now, and the hit rate of the last runs
        recorded in the local cache folder. None when no remote is configured."""
        remote = self.cache_config.remote
        if remote is None:
            return None
        client = RemoteClient(remote.client_settings())
        try:
            rtt: float | None = client.ping()
            problem = None
        except RemoteUnavailable as exc:
            rtt, problem = None, str(exc)
        finally:
            client.close()
        d = self.cache_config.directory
        runs = [r for r in recent_runs(d) if r["lookups"]][-RECENT_RUNS:] if d else []
        lookups = sum(r["lookups"] for r in runs)
        hits = sum(r["hits"] for r in runs)
        return RemoteTierStatus(
            url=remote.shown_url,
            source=remote.source,
            write=remote.write,
            reachable=problem is None,
            round_trip_ms=None if rtt is None else round(rtt * 1000),
            problem=problem,
            runs=len(runs),
            lookups=lookups,
            hits=hits,
            hit_rate_percent=round(100 * hits / lookups) if lookups else None,
            uploaded=sum(r["uploaded"] for r in runs),
        )

    def _with_remote(self, result: CacheResult) -> TieredCacheResult:
        """`result` plus the remote tier's status, its summary and any settings warnings."""
        status = self.remote_status()
        summary = result.summary
        diags = list(result.diagnostics)
        diags += [
            warning(
                "config.invalid_setting",
                text,
                "fix pyproject.toml or the environment; the default was used instead",
            )
            for text in self.cache_config.warnings
        ]
        if status is not None:
            summary += "; " + remote_summary(status)
            if status.problem is not None:
                diags.append(
                    warning(
                        "build.remote_cache_unavailable",
                        f"remote cache {status.url} unavailable: {status.problem}",
                        "builds run locally meanwhile; check the server and its URL",
                    )
                )
        return TieredCacheResult(
            **{**result.model_dump(), "summary": summary, "diagnostics": diags},
            remote=status,
        )

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

        return self._with_remote(self._cache_op("cache_verify", act))

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


def remote_summary(status: RemoteTierStatus) -> str:
    """One phrase for the remote tier: where, reachable and how fast, how useful lately."""
    mode = "read-write" if status.write else "read-only"
    if status.reachable:
        reach = f"reachable, round trip {status.round_trip_ms} ms"
    else:
        reach = "unreachable"
    if status.hit_rate_percent is None:
        rate = "no remote lookups recorded yet"
    else:
        rate = (
            f"hit rate {status.hit_rate_percent}% ({status.hits} of {status.lookups} lookups "
            f"in the last {status.runs} run(s))"
        )
    return f"remote {status.url} ({mode}): {reach}; {rate}"
