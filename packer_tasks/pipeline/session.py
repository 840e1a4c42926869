"""One build session: the cache, the digest memo, the frozen inputs and the materializer
that a pack, a validate or a doit run share for its duration."""

from __future__ import annotations

from types import TracebackType

from prometeu_cache.digests import DigestMemo

from ..events.sink import OperationEmitter
from ..workspace.project import Project
from ..workspace.settings import CacheConfig
from .frozen import FrozenInputs
from .materialize import Materializer
from .previous import load_previous
from .remote_tier import open_cache


class BuildSession:
    def __init__(
        self,
        project: Project,
        config: CacheConfig,
        emitter: OperationEmitter,
        memo: DigestMemo | None = None,
    ) -> None:
        self.config = config
        # The local store, with the remote tier behind it when one is configured.
        self.cache = open_cache(config)
        self._own_memo = memo is None
        self.memo = memo if memo is not None else DigestMemo(project.meta_dir)
        self.frozen = FrozenInputs(self.memo)
        self.materializer = Materializer(
            project,
            self.frozen,
            self.cache,
            emitter,
            previous=lambda: load_previous(project.build_dir, self.memo),
        )

    def close(self) -> None:
        if self._own_memo:
            self.memo.close()
        else:
            self.memo.flush()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> BuildSession:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
