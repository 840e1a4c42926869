"""Content-addressed cache layer over diskcache (no packer imports; the packer builds on it).

`keys` holds the cache-key recipe and the project's blake3 helpers; `store` holds the
verified, pickle-free payload store; `digests` the stat-keyed digest memo. Names load on
first use, so `prometeu_cache.digests` alone (all a no-op `doit pack` needs) does not
import diskcache.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometeu_cache.keys import (
        KEY_RECIPE_VERSION,
        blake3_file,
        blake3_hex,
        cache_key,
        diff_material,
    )
    from prometeu_cache.store import (
        DEFAULT_SIZE_LIMIT,
        MARKER_NAME,
        CacheLookup,
        CacheStats,
        CacheStore,
        CacheUnavailableError,
        PruneReport,
        VerifyReport,
    )

_HOME = {
    "KEY_RECIPE_VERSION": "keys",
    "blake3_file": "keys",
    "blake3_hex": "keys",
    "cache_key": "keys",
    "diff_material": "keys",
    "DEFAULT_SIZE_LIMIT": "store",
    "MARKER_NAME": "store",
    "CacheLookup": "store",
    "CacheStats": "store",
    "CacheStore": "store",
    "CacheUnavailableError": "store",
    "PruneReport": "store",
    "VerifyReport": "store",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'prometeu_cache' has no attribute {name!r}")
    return getattr(importlib.import_module(f"prometeu_cache.{home}"), name)


__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "KEY_RECIPE_VERSION",
    "MARKER_NAME",
    "CacheLookup",
    "CacheStats",
    "CacheStore",
    "CacheUnavailableError",
    "PruneReport",
    "VerifyReport",
    "blake3_file",
    "blake3_hex",
    "cache_key",
    "diff_material",
]
