"""An HTTP client for a remote cache in Bazel's HTTP layout (SPEC §11.1).

``{base}/cas/{sha256}`` holds payload blobs, ``{base}/ac/{key}`` the small JSON record
naming a key's blob. Any server that stores what is PUT serves it (nginx WebDAV,
bazel-remote, an object store behind HTTP). Everything the server sends is untrusted: a
record must be well-formed JSON for exactly the key asked, and a blob must have the
record's size, SHA-256 and blake3 before anyone sees it.

Failures come in two kinds. ``RemoteUnavailable`` is the server's (refused, slow, 5xx, a
redirect, a cut-off body): it opens the client's circuit breaker, so one run never
hammers a dead server. ``RemoteCorrupt`` is one entry's (bad record, wrong bytes): that
key is a miss and the server stays in use. Credentials travel in headers only and never
appear in a message: every message names the server by its redacted URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpcore

from prometeu_cache.keys import blake3_hex, canonical_bytes

__all__ = [
    "RECORD_FORMAT",
    "RemoteClient",
    "RemoteCorrupt",
    "RemoteEntry",
    "RemoteSettings",
    "RemoteUnavailable",
    "redact_url",
]

RECORD_FORMAT: Final = "prometeu-packer-remote-record/1"
MAX_RECORD_BYTES: Final = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RECORD_FIELDS: Final = frozenset({"format", "key", "sha256", "blake3", "size", "meta"})
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
# What the transport raises when the server cannot be used (timeouts are told apart).
_TRANSPORT_ERRORS: Final = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


@dataclass(frozen=True)
class RemoteSettings:
    """Where the remote lives and how to reach it. Credentials never enter ``repr``."""

    url: str  # base URL without credentials, query or fragment
    write: bool = False
    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    connections: int = 8
    max_blob_bytes: int = 1024**3


@dataclass(frozen=True)
class RemoteEntry:
    """A verified remote hit: the blob's bytes and the record's metadata."""

    payload: bytes
    meta: dict[str, Any]
    blake3: str


class RemoteUnavailable(Exception):
    """The server cannot be used for the rest of this run (the circuit is open)."""


class RemoteCorrupt(Exception):
    """One entry failed verification; it is a miss, the server stays in use."""


def redact_url(url: str) -> str:
    """The URL as it may be shown: no user, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<unparsable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def encode_record(key: str, payload: bytes, meta: dict[str, Any]) -> bytes:
    """The AC record for `key`: canonical JSON naming the blob, never pickle."""
    return canonical_bytes(
        {
            "format": RECORD_FORMAT,
            "key": key,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "blake3": blake3_hex(payload),
            "size": len(payload),
            "meta": meta,
        }
    )


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them."""
    raise ValueError(f"{name} is not JSON")


def _decode_record(key: str, body: bytes, max_blob: int) -> dict[str, Any]:
    try:
        record = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RemoteCorrupt(f"record is not JSON: {str(exc)[:160]}") from None
    if not isinstance(record, dict) or set(record) != _RECORD_FIELDS:
        raise RemoteCorrupt("record does not have the expected fields")
    if record["format"] != RECORD_FORMAT or record["key"] != key:
        raise RemoteCorrupt("record is for another format or key")
    size = record["size"]
    if type(size) is not int or not 0 <= size <= max_blob:
        raise RemoteCorrupt("record names an impossible size")
    for name in ("sha256", "blake3"):
        if not isinstance(record[name], str) or not _HEX64.fullmatch(record[name]):
            raise RemoteCorrupt(f"record's {name} is not a hex digest")
    if not isinstance(record["meta"], dict):
        raise RemoteCorrupt("record's meta is not an object")
    return record


@dataclass(frozen=True)
class _Answer:
    """One response, read in full (header names lower-cased)."""

    status: int
    headers: dict[str, str]
    body: bytes


class RemoteClient:
    """One run's connection pool to the remote, with its circuit breaker. Thread-safe.

    It speaks through httpcore, the transport httpx is built on (the same project): its
    keep-alive pool costs a fraction of httpx.Client's per-request overhead, which matters
    for a build set's two requests per asset. Redirects are never followed, and nothing
    from the user's environment (proxies, .netrc) is read."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self.shown_url = redact_url(settings.url)
        self._base = settings.url.rstrip("/") + "/"
        self._headers = self._auth_headers(settings)
        self._timeouts = {
            "connect": settings.connect_timeout,
            "read": settings.read_timeout,
            "write": settings.read_timeout,
            "pool": 30.0,
        }
        self._lock = threading.Lock()
        self._down: str | None = None
        self._pool = httpcore.ConnectionPool(
            max_connections=settings.connections,
            max_keepalive_connections=settings.connections,
            keepalive_expiry=30.0,
        )

    @staticmethod
    def _auth_headers(settings: RemoteSettings) -> list[tuple[bytes, bytes]]:
        if settings.token:
            return [(b"Authorization", f"Bearer {settings.token}".encode())]
        if settings.username:
            pair = f"{settings.username}:{settings.password or ''}".encode()
            return [(b"Authorization", b"Basic " + base64.b64encode(pair))]
        return []

    # -- the circuit ------------------------------------------------------------------------

    @property
    def down(self) -> str | None:
        """Why the server was given up on this run, or None while it is in use."""
        return self._down

    def give_up(self, reason: str) -> RemoteUnavailable:
        """Open the circuit for the rest of the run (the first reason is kept)."""
        return self._trip(reason)

    def _trip(self, reason: str) -> RemoteUnavailable:
        with self._lock:
            if self._down is None:
                self._down = reason
        return RemoteUnavailable(self._down or reason)

    def _check(self) -> None:
        if self._down is not None:
            raise RemoteUnavailable(self._down)

    def _request(
        self, method: str, path: str, body: bytes | None = None, limit: int = MAX_RECORD_BYTES
    ) -> _Answer:
        """One request and its body (at most `limit` bytes, else the entry is corrupt);
        server trouble trips the circuit."""
        self._check()
        try:
            with self._pool.stream(
                method,
                self._base + path,
                headers=self._headers,
                content=body,
                extensions={"timeout": self._timeouts},
            ) as response:
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers
                }
                answer = _Answer(
                    response.status,
                    headers,
                    _read_bounded(response.status, headers, response.iter_stream(), limit),
                )
        except httpcore.TimeoutException:
            raise self._trip(f"timed out after {self.settings.read_timeout:g}s") from None
        except _TRANSPORT_ERRORS as exc:
            raise self._trip(_transport_reason(exc)) from None
        self._judge(answer, method)
        return answer

    def _judge(self, answer: _Answer, method: str) -> None:
        if answer.status in _REDIRECTS:
            where = redact_url(answer.headers.get("location", ""))
            raise self._trip(f"redirected ({answer.status}) to {where}; not followed")
        if answer.status >= 500:
            raise self._trip(f"server error {answer.status} on {method}")
        if answer.status in (401, 403, 407):
            raise self._trip(
                f"refused with status {answer.status} on {method}; check the credentials"
            )

    # -- reads ------------------------------------------------------------------------------

    def fetch(self, key: str) -> RemoteEntry | None:
        """The verified entry for `key`, or None when the server has none."""
        answer = self._request("GET", f"ac/{key}")
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise self._trip(f"unexpected status {answer.status} on GET")
        record = _decode_record(key, answer.body, self.settings.max_blob_bytes)
        blob = self._request("GET", f"cas/{record['sha256']}", limit=record["size"])
        if blob.status == 404:
            raise RemoteCorrupt(f"record names blob {record['sha256'][:12]}… the server lacks")
        if blob.status != 200:
            raise self._trip(f"unexpected status {blob.status} on GET")
        payload = blob.body
        if len(payload) != record["size"]:
            raise RemoteCorrupt(f"blob is {len(payload)} bytes, record says {record['size']}")
        if hashlib.sha256(payload).hexdigest() != record["sha256"]:
            raise RemoteCorrupt("blob's SHA-256 does not match its name")
        digest = blake3_hex(payload)
        if digest != record["blake3"]:
            raise RemoteCorrupt("blob's blake3 does not match the record")
        return RemoteEntry(payload, record["meta"], digest)

    def ping(self) -> float:
        """Round-trip seconds of one HEAD of an absent record (404 means reachable)."""
        t0 = time.monotonic()
        answer = self._request("HEAD", "ac/" + "0" * 64)
        if answer.status not in (200, 404):
            raise self._trip(f"unexpected status {answer.status} on HEAD")
        return time.monotonic() - t0

    # -- writes -----------------------------------------------------------------------------

    def store(self, key: str, payload: bytes, meta: dict[str, Any]) -> None:
        """Upload the blob, then the record naming it (a record never precedes its blob)."""
        if not self.settings.write:
            raise PermissionError("remote cache writes are not enabled")
        record = encode_record(key, payload, meta)
        sha = hashlib.sha256(payload).hexdigest()
        for path, body in ((f"cas/{sha}", payload), (f"ac/{key}", record)):
            answer = self._request("PUT", path, body)
            if answer.status not in (200, 201, 204):
                raise self._trip(f"upload refused with status {answer.status}")

    def close(self) -> None:
        self._pool.close()


def _read_bounded(
    status: int, headers: dict[str, str], chunks: Iterable[bytes], limit: int
) -> bytes:
    """The body, refusing more than `limit` bytes (a declared or an actual excess) of a
    success; an error page is read (to keep the connection) and bounded all the same."""
    if status != 200:
        limit = MAX_RECORD_BYTES
    declared = headers.get("content-length", "")
    if status == 200 and declared.isdigit() and int(declared) > limit:
        raise RemoteCorrupt(f"body of {declared} bytes is larger than the {limit} expected")
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise RemoteCorrupt(f"body is larger than the {limit} bytes expected")
        parts.append(chunk)
    return b"".join(parts)


def _transport_reason(exc: Exception) -> str:
    """A short reason that never repeats the request URL (it could carry credentials)."""
    text = str(exc).split("\n", 1)[0][:160]
    kind = type(exc).__name__
    if isinstance(exc, httpcore.ConnectError):
        return f"cannot connect ({text or kind})"
    if isinstance(exc, httpcore.RemoteProtocolError):
        return f"the server broke the protocol ({text or kind})"
    return f"{kind}: {text}" if text else kind
