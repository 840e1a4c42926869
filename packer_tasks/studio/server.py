"""Serving a Studio: a loopback socket bound first (so the port, and with it the allowed
Host names, is known before the app exists), uvicorn on it, and an orderly stop."""

from __future__ import annotations

import socket
import threading

import uvicorn

from ..workspace.project import Project
from ..workspace.settings import CacheConfig
from .app import create_app
from .security import Guard, new_token
from .state import ServiceFactory, StudioState

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 only (port 0: any free port)."""
    # IPPROTO_TCP spelled out: asyncio only switches Nagle off (TCP_NODELAY) on connections
    # of a socket that says it is TCP, and without that every response waits ~40 ms for a
    # delayed ACK between its header and body writes.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class StudioServer:
    """One project's Studio on one loopback port."""

    def __init__(
        self,
        project: Project,
        port: int = 0,
        *,
        cache: CacheConfig | None = None,
        make_service: ServiceFactory | None = None,
    ) -> None:
        self.sock = bind_loopback(port)
        self.port: int = self.sock.getsockname()[1]
        guard = Guard(port=self.port, token=new_token())
        self.state = StudioState.open(project, guard, cache=cache, make_service=make_service)
        config = uvicorn.Config(
            create_app(self.state),
            log_level="warning",
            lifespan="off",
            # Requests in flight (a workspace read of a big project) finish; streams end
            # when the lane closes.
            timeout_graceful_shutdown=15,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    @property
    def token(self) -> str:
        return self.state.guard.token

    def run(self) -> None:
        """Serve until interrupted (the CLI's Ctrl-C), then stop cleanly."""
        self.state.start()
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.state.close()
            self.sock.close()

    def start(self) -> None:
        """Serve from a background thread (tests, an embedding host); returns when ready."""
        self.state.start()
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.02)

    def stop(self) -> None:
        self.state.lane.close()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.state.close()
        self.sock.close()
