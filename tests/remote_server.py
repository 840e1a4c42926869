"""A real remote cache for the tests: nginx as a WebDAV store (the way teams serve Bazel's
HTTP cache), plus a small fault-injecting proxy in front of it.

`Nginx` runs the distribution's nginx in the foreground (`daemon off; master_process off`)
with everything it writes — config, pid, logs, temp folders, the store — in one folder, on
127.0.0.1 and a free port; it works as root and as an ordinary user. `FaultProxy` is a
thread on 127.0.0.1 that forwards to nginx and, on request, answers 5xx, cuts a body short,
lies about a length, stalls, or redirects to another host. `closed_port()` is a port nothing
listens on (connection refused).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
START_TIMEOUT = 10.0

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {store};
        client_max_body_size 0;
        dav_methods PUT DELETE;
        create_full_put_path on;
        dav_access user:rw group:rw all:r;
    }}
}}
"""


def nginx_binary() -> str | None:
    """The distribution's nginx, if installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((c for c in NGINX_CANDIDATES if os.access(c, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a refused connection)."""
    return free_port()


def _wait_listening(port: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


class Nginx:
    """One nginx WebDAV store under `work`; `url` is its base, `store` what it serves."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.store = work / "store"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (CI installs the distribution's)")
        self.store.mkdir(parents=True, exist_ok=True)
        for attempt in range(5):
            self.port = self.port if attempt == 0 and self.port else free_port()
            conf = self.work / "nginx.conf"
            conf.write_text(CONFIG.format(work=self.work, store=self.store, port=self.port))
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.work), "-c", str(conf), "-e", str(self.work / "error.log")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if _wait_listening(self.port, self.proc, START_TIMEOUT):
                return self
            self.stop()
        log = (self.work / "error.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"nginx did not start:\n{log}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def files(self, prefix: str = "") -> dict[str, bytes]:
        """Every file the server stores under `prefix`, by its path below the store."""
        base = self.store / prefix
        if not base.exists():
            return {}
        return {
            p.relative_to(self.store).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file()
        }


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer is part of the faults, not news: nothing is
    printed (the packer under test shares this process's stderr)."""

    def handle_error(self, request: object, client_address: object) -> None:
        return


class FaultProxy:
    """A forwarding proxy to `upstream` (host:port) whose `fault` can be changed anytime:
    None (forward), "500", "truncate", "wrong_length", "slow", "redirect". `only` limits
    the fault to request paths containing it (e.g. "/cas/"). Forwarding is one request at a
    time, so the counts are exact and `on_response` acts before any later request reaches
    the upstream (a test that stops the server after N answers really gets N)."""

    def __init__(self, upstream_port: int, *, slow_seconds: float = 3.0) -> None:
        self.upstream_port = upstream_port
        self.fault: str | None = None
        self.only = ""
        self.slow_seconds = slow_seconds
        self.requests = 0
        self.responses = 0
        self.authorization: set[str] = set()  # every Authorization header seen
        # Called (in the proxy's thread) after each complete response, with their count.
        self.on_response: Callable[[int], object] = lambda n: None
        self._forwarding = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _relay(self) -> None:
                proxy.requests += 1
                if self.headers.get("Authorization"):
                    proxy.authorization.add(self.headers["Authorization"])
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy.fault if proxy.only in self.path else None
                if fault == "slow":
                    time.sleep(proxy.slow_seconds)
                if fault == "500":
                    self._send(500, b"injected failure")
                    return
                if fault == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://elsewhere.invalid" + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with proxy._forwarding:
                    self._forward(fault, body)

            def _forward(self, fault: str | None, body: bytes | None) -> None:
                status, data = self._upstream(body)
                if fault == "truncate" and self.command == "GET" and status == 200:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "wrong_length" and self.command == "GET" and status == 200:
                    self.send_response(200)
                    self.send_header("Content-Length", str(max(len(data) - 7, 0)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                    self.close_connection = True
                    return
                self._send(status, data)
                proxy.responses += 1
                proxy.on_response(proxy.responses)

            def _upstream(self, body: bytes | None) -> tuple[int, bytes]:
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=10)
                try:
                    conn.request(self.command, self.path, body=body)
                    response = conn.getresponse()
                    return response.status, response.read()
                finally:
                    conn.close()

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = _relay

        return Handler


@contextlib.contextmanager
def running_nginx(work: Path) -> Iterator[Nginx]:
    """An nginx store for the length of a `with` (stopped whatever happens)."""
    work.mkdir(parents=True, exist_ok=True)
    server = Nginx(work).start()
    try:
        yield server
    finally:
        server.stop()
