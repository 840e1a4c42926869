"""What keeps a local server local: loopback Host only, a per-run token on every
state-changing request, no foreign Origin, no dot segments in a path.

A page on another site can make the browser send requests to 127.0.0.1 (cross-site
requests) or resolve its own name to 127.0.0.1 (DNS rebinding). The first carries no token
and a foreign Origin; the second carries a foreign Host. Both are refused before any route.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_HEADER = "x-prometeu-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def new_token() -> str:
    """A fresh secret per run: it lives in the served page and in memory, nowhere else."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Guard:
    """The rules for one running server (its port and token)."""

    port: int
    token: str = field(repr=False)

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(f"{name}:{self.port}" for name in LOOPBACK_NAMES)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    def refusal(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why this request is refused (status, reason), or None when it may proceed."""
        if headers.get("host", "").lower() not in self.hosts:
            return 421, "foreign Host header: the Studio answers only on loopback"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return 403, "cross-origin request refused"
        if ".." in unquote(unquote(path)).replace("\\", "/").split("/"):
            return 404, "no such page"
        if method not in SAFE_METHODS:
            given = headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return 403, "missing or wrong Studio token"
        return None


class GuardMiddleware:
    """ASGI middleware applying a Guard to every HTTP request."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = scope.get("raw_path") or scope["path"].encode()
        refused = self.guard.refusal(scope["method"], raw.decode("latin-1"), headers)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, reason = refused
        body = json.dumps({"refused": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
