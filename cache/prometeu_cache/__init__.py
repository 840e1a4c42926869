"""Content-addressed cache layer over diskcache (no packer imports; the packer builds on it).

`keys` holds the cache-key recipe and the project's blake3 helpers; `store` holds the
verified, pickle-free payload store.
"""

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
