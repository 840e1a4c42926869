"""The Studio is a local server: it must not be drivable by other pages or other hosts.

Checked with httpx directly against a real server: a cross-origin request without the
per-run token is refused and changes nothing; a foreign Host header (DNS rebinding) is
refused; a path that tries to leave the package's static files or the project is refused
and leaks nothing. Also: `prometeu-packer studio` itself binds loopback and prints its URL.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import CLI, STARTER, cli_env, copy_project, run_cli
from studio_support import studio

from packer_tasks.service import PackerService
from packer_tasks.studio.security import TOKEN_HEADER
from packer_tasks.studio.server import StudioServer
from packer_tasks.workspace.project import Project

EVIL = "http://attacker.example"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[StudioServer, Path]]:
    project = copy_project(STARTER, tmp_path / "game")
    with studio(project) as server:
        yield server, project


def registry_bytes(project: Path) -> bytes:
    return (project / "assets" / ".prometeu" / "index.json").read_bytes()


def test_a_cross_origin_request_without_the_token_is_refused_and_changes_nothing(
    served: tuple[StudioServer, Path],
) -> None:
    server, project = served
    before = registry_bytes(project)
    with httpx.Client(base_url=server.url) as client:
        # What a form or fetch() on another site can send: no token, a foreign Origin.
        forged = client.post("/api/actions/exclude", json={"ref": 1}, headers={"origin": EVIL})
        assert forged.status_code == 403, forged.text
        assert client.post("/api/actions/exclude", json={"ref": 1}).status_code == 403
        assert client.post("/api/wizard/pack").status_code == 403
        wrong = client.post(
            "/api/actions/exclude", json={"ref": 1}, headers={TOKEN_HEADER: "guess"}
        )
        assert wrong.status_code == 403
        # Even the right token does not pass from a foreign page.
        stolen = client.post(
            "/api/actions/exclude",
            json={"ref": 1},
            headers={TOKEN_HEADER: server.token, "origin": EVIL},
        )
        assert stolen.status_code == 403
        assert registry_bytes(project) == before
        assert not (project / "build").exists()
        # The page itself (same origin, token from the served page) may.
        page = client.get("/").text
        token = re.search(r'name="studio-token" content="([^"]+)"', page)
        assert token is not None and token.group(1) == server.token
        ok = client.post(
            "/api/actions/exclude",
            json={"ref": 1},
            headers={TOKEN_HEADER: token.group(1), "origin": server.url.rstrip("/")},
        )
        assert ok.status_code == 200 and ok.json()["status"] == "success", ok.text
        # And no other site may frame the page to borrow its buttons (clickjacking).
        headers = client.get("/").headers
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert registry_bytes(project) != before


def test_a_foreign_host_header_is_refused(served: tuple[StudioServer, Path]) -> None:
    server, project = served
    with httpx.Client(base_url=server.url) as client:
        for host in ("attacker.example", f"attacker.example:{server.port}", "127.0.0.1:1"):
            for path in ("/", "/api/workspace", "/api/events"):
                answer = client.get(path, headers={"host": host})
                assert answer.status_code == 421, (host, path, answer.text)
                assert server.token not in answer.text
        rebound = client.post(
            "/api/wizard/pack", headers={"host": "attacker.example", TOKEN_HEADER: server.token}
        )
        assert rebound.status_code == 421
        assert client.get("/", headers={"host": f"localhost:{server.port}"}).status_code == 200
    assert not (project / "build").exists()


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """A request line sent as written (clients normalise `..` away before sending)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_a_path_escaping_url_is_refused_and_reads_nothing_outside(
    served: tuple[StudioServer, Path],
) -> None:
    server, project = served
    (project / "secret.txt").write_text("TOP-SECRET")
    secrets = (b"TOP-SECRET", b"root:x:", b"[project]", b"def create_app")
    for target in (
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/app.py",
        "/static/%252e%252e%252fapp.py",
        "/static/..\\..\\app.py",
        "/../secret.txt",
        "/api/asset?ref=../../secret.txt",
        "/api/asset?ref=/etc/passwd",
        "/api/preview/sheet.png?id=../../secret.txt",
        "/api/preview/sample.wav?id=1&n=../../../etc/passwd",
        "/static/index.html",
        "/api/preview?id=%C2%B2",
        "/api/preview/sample.wav?id=5&n=-1",
    ):
        status, body = raw_get(server.port, target)
        assert status in (400, 404), (target, status, body[:200])
        assert not any(s in body for s in secrets), target
    # What the page needs is served.
    status, body = raw_get(server.port, "/static/studio.js")
    assert status == 200 and b"x-prometeu-token" in body


def test_the_cli_serves_on_loopback_and_prints_its_url(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [*CLI, "--project", str(project), "--events", str(events), "studio", "--port", "0"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, (line, proc.stderr.read() if proc.stderr else "")
        page = httpx.get(found.group(0), timeout=10)
        assert page.status_code == 200 and "PROMETEU Studio" in page.text
        assert 'content="$token"' not in page.text
        workspace = httpx.get(found.group(0) + "api/workspace", timeout=30)
        assert workspace.status_code == 200 and len(workspace.json()["assets"]) == 6
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    # `--events FILE` streams the Studio's events too (here: the workspace read's doctor).
    kinds = {json.loads(line)["kind"] for line in events.read_text().splitlines()}
    assert "diagnostics_updated" in kinds


def test_a_busy_port_or_no_project_is_a_clear_error(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _out, err = run_cli("--project", project, "studio", "--port", str(port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in err, err
    assert "Traceback" not in err
    code, _out, err = run_cli("studio", cwd=tmp_path)
    assert code == 2 and "no prometeu project" in err, err


BAD_BODIES: list[object] = [
    {},
    {"ref": None},
    {"ref": True},
    {"ref": -3},
    {"ref": "../../outside"},
    {"ref": "/etc"},
    {"ref": "x" * 1200},
    {"ref": 1, "apply": "yes"},
    {"ref": 1, "new_root": "../../escape", "apply": True},
    {"name": "../../../etc", "apply": True},
    [],
    "text",
]


def test_bad_input_is_an_answer_never_a_server_error(served: tuple[StudioServer, Path]) -> None:
    server, project = served
    headers = {TOKEN_HEADER: server.token}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for action in ("include", "exclude", "register", "relocate", "remove", "quarantine"):
            for body in BAD_BODIES:
                answer = client.post(f"/api/actions/{action}", json=body)
                assert answer.status_code in (200, 400, 409), (action, body, answer.text)
        for action, body in (
            ("restore", {"name": "../../../etc", "apply": True}),
            ("restore", {"name": 7}),
            ("doctor_fix", {"apply": "yes"}),
            ("doctor_fix", []),
            ("no_such_action", {}),
        ):
            answer = client.post(f"/api/actions/{action}", json=body)
            assert answer.status_code in (200, 400, 409), (action, body, answer.text)
        garbage = client.post("/api/actions/exclude", content=b"\xff{not json")
        assert garbage.status_code == 400
        for path in (
            "/api/asset",
            "/api/asset?ref=",
            "/api/asset?ref=%00",
            "/api/preview",
            "/api/preview?id=99999",
            "/api/preview/sample.wav?id=5",
        ):
            answer = client.get(path)
            assert answer.status_code in (200, 400, 404, 409), (path, answer.text)
    # Nothing was moved out of assets/ (a well-formed `exclude 1` among them may have run).
    assert sorted(p.name for p in project.parent.iterdir()) == ["game"]
    assert (project / "assets" / "ui" / "hud_icons" / "asset.json").is_file()


def test_a_damaged_assets_pa_is_reported_not_served(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    assert PackerService(Project(project)).pack().status.value == "success"
    packed = project / "build" / "assets.pa"
    data = bytearray(packed.read_bytes())
    data[-40000:] = b""  # the payload region cut short
    packed.write_bytes(bytes(data))
    with studio(project) as server, httpx.Client(base_url=server.url) as client:
        for path in ("/api/preview?id=1", "/api/preview/sheet.png?id=1", "/api/preview?id=5"):
            answer = client.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert "not valid" in answer.json()["error"]
        assert client.get("/api/inspect").json()["status"] == "failed"
