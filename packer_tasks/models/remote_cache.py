"""What `cache stats` / `cache verify` say about the remote tier (SPEC §11.1)."""

from __future__ import annotations

from pydantic import BaseModel

from .results import CacheResult


class RemoteTierStatus(BaseModel):
    """The remote tier as seen now (one round trip) and over the last recorded runs."""

    url: str  # redacted: never credentials
    source: str
    write: bool
    reachable: bool
    round_trip_ms: int | None = None
    problem: str | None = None
    runs: int = 0  # recorded runs that asked the remote
    lookups: int = 0  # remote lookups over those runs
    hits: int = 0
    hit_rate_percent: int | None = None
    uploaded: int = 0


class TieredCacheResult(CacheResult):
    """A cache result with the remote tier's status (None when no remote is configured)."""

    remote: RemoteTierStatus | None = None
