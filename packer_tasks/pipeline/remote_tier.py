"""The pipeline's side of the remote cache tier (SPEC §11.1): open the run's cache, start
remote reads for a build set, and turn what went wrong into warnings at the end of a run.

The remote never fails a build; whatever it did shows up as one warning per kind
(`build.remote_cache_unavailable`, `build.remote_cache_corrupt`), with settings that could
not be used (`config.invalid_setting`) reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometeu_cache.remote import RemoteClient
from prometeu_cache.store import CacheStore
from prometeu_cache.tiered import RemoteProblem, TieredCache

from ..events.sink import OperationEmitter
from ..models.diagnostic import Diagnostic, any_blocking, warning
from ..models.event import EventKind
from ..workspace.settings import CacheConfig
from ..workspace.snapshot import RegisteredAsset
from .materialize import Materializer

# How long the end of a pack waits for background uploads (publication never waits).
UPLOAD_WAIT_SECONDS = 5.0


def open_cache(config: CacheConfig) -> CacheStore | TieredCache | None:
    """The run's cache: the local store, with the remote tier behind it when configured."""
    if config.directory is None:
        return None
    local = CacheStore(config.directory, size_limit=config.size_limit)
    if config.remote is None:
        return local
    return TieredCache(local, RemoteClient(config.remote.client_settings()))


def prefetch_remote(
    cache: CacheStore | TieredCache | None,
    materializer: Materializer,
    assets: Iterable[RegisteredAsset],
) -> None:
    """Start remote reads for every packable asset the local tier lacks and the previous
    build cannot supply (no-op without a remote). An input that cannot be read now is
    left to materialization to report."""
    if not isinstance(cache, TieredCache) or cache.remote.down is not None:
        return
    reused = materializer.previous.by_key if materializer.previous is not None else {}
    keys = []
    for asset in assets:
        if asset.loaded.declaration is None or any_blocking(asset.diagnostics):
            continue
        try:
            key = materializer.cache_key_of(asset)[0]
        except OSError:
            continue
        if key not in reused:
            keys.append(key)
    cache.prefetch(keys)


def settle_remote(
    cache: CacheStore | TieredCache | None, config: CacheConfig, em: OperationEmitter
) -> list[Diagnostic]:
    """At the end of a pack: wait (bounded) for uploads, then one warning per kind of
    remote trouble and per unusable setting, each also published as an event."""
    diags = [
        warning(
            "config.invalid_setting",
            text,
            "fix pyproject.toml or the environment; the default was used instead",
        )
        for text in config.warnings
    ]
    if isinstance(cache, TieredCache):
        cache.flush_uploads(UPLOAD_WAIT_SECONDS)
        diags += [_warning(p) for p in cache.problems()]
    for d in diags:
        em.emit(
            EventKind.DIAGNOSTICS_UPDATED,
            f"warning {d.code}: {d.message}",
            data={"code": d.code, "severity": d.severity.value},
        )
    return diags


def _warning(problem: RemoteProblem) -> Diagnostic:
    if problem.kind == "corrupt":
        return warning(
            "build.remote_cache_corrupt",
            problem.message,
            "the entries were ignored and made locally; a build with --remote-cache-write "
            "replaces them, or delete them on the server",
        )
    if problem.kind == "upload":
        return warning(
            "build.remote_cache_unavailable",
            problem.message,
            "the next build with writes enabled uploads what is missing",
        )
    return warning(
        "build.remote_cache_unavailable",
        problem.message,
        "check the server (`prometeu-packer cache stats` shows whether it answers); "
        "nothing is wrong with the build",
    )
