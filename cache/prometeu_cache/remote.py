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

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx

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


class RemoteClient:
    """One run's connection pool to the remote, with its circuit breaker. Thread-safe."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self.shown_url = redact_url(settings.url)
        self._lock = threading.Lock()
        self._down: str | None = None
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/") + "/",
            headers=self._auth_headers(settings),
            auth=(settings.username, settings.password or "")
            if settings.username and not settings.token
            else None,
            timeout=httpx.Timeout(
                settings.read_timeout, connect=settings.connect_timeout, pool=30.0
            ),
            limits=httpx.Limits(
                max_connections=settings.connections,
                max_keepalive_connections=settings.connections,
            ),
            follow_redirects=False,
            # No proxies, .netrc or certificates from the user's environment: the remote is
            # reached the way it was configured, and nothing outside the project is read.
            trust_env=False,
        )

    @staticmethod
    def _auth_headers(settings: RemoteSettings) -> dict[str, str]:
        return {"Authorization": f"Bearer {settings.token}"} if settings.token else {}

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
    ) -> tuple[httpx.Response, bytes]:
        """One request and its body (at most `limit` bytes, else the entry is corrupt);
        server trouble trips the circuit."""
        self._check()
        try:
            with self._client.stream(method, path, content=body) as response:
                content = _read_bounded(response, limit)
        except httpx.TimeoutException:
            raise self._trip(f"timed out after {self.settings.read_timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise self._trip(_transport_reason(exc)) from None
        self._judge(response, method)
        return response, content

    def _judge(self, response: httpx.Response, method: str) -> None:
        if response.is_redirect:
            where = redact_url(response.headers.get("location", ""))
            raise self._trip(f"redirected ({response.status_code}) to {where}; not followed")
        if response.status_code >= 500:
            raise self._trip(f"server error {response.status_code} on {method}")
        if response.status_code in (401, 403, 407):
            raise self._trip(
                f"refused with status {response.status_code} on {method}; check the credentials"
            )

    # -- reads ------------------------------------------------------------------------------

    def fetch(self, key: str) -> RemoteEntry | None:
        """The verified entry for `key`, or None when the server has none."""
        response, body = self._request("GET", f"ac/{key}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._trip(f"unexpected status {response.status_code} on GET")
        record = _decode_record(key, body, self.settings.max_blob_bytes)
        blob, payload = self._request("GET", f"cas/{record['sha256']}", limit=record["size"])
        if blob.status_code == 404:
            raise RemoteCorrupt(f"record names blob {record['sha256'][:12]}… the server lacks")
        if blob.status_code != 200:
            raise self._trip(f"unexpected status {blob.status_code} on GET")
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
        response, _ = self._request("HEAD", "ac/" + "0" * 64)
        if response.status_code not in (200, 404):
            raise self._trip(f"unexpected status {response.status_code} on HEAD")
        return time.monotonic() - t0

    # -- writes -----------------------------------------------------------------------------

    def store(self, key: str, payload: bytes, meta: dict[str, Any]) -> None:
        """Upload the blob, then the record naming it (a record never precedes its blob)."""
        if not self.settings.write:
            raise PermissionError("remote cache writes are not enabled")
        record = encode_record(key, payload, meta)
        sha = hashlib.sha256(payload).hexdigest()
        for path, body in ((f"cas/{sha}", payload), (f"ac/{key}", record)):
            response, _ = self._request("PUT", path, body)
            if response.status_code not in (200, 201, 204):
                raise self._trip(f"upload refused with status {response.status_code}")

    def close(self) -> None:
        self._client.close()


def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes (a declared or an actual excess) of a
    success; an error page is read (to keep the connection) and bounded all the same."""
    if response.status_code != 200:
        limit = MAX_RECORD_BYTES
    declared = response.headers.get("content-length")
    if response.status_code == 200 and declared and declared.isdigit() and int(declared) > limit:
        raise RemoteCorrupt(f"body of {declared} bytes is larger than the {limit} expected")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise RemoteCorrupt(f"body is larger than the {limit} bytes expected")
        chunks.append(chunk)
    return b"".join(chunks)


def _transport_reason(exc: httpx.HTTPError) -> str:
    """A short reason that never repeats the request URL (it could carry credentials)."""
    text = str(exc).split("\n", 1)[0][:160]
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text or kind})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the protocol ({text or kind})"
    return f"{kind}: {text}" if text else kind
