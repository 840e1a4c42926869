"""The remote cache tier against a real nginx WebDAV store (SPEC §11.1).

Two machines are simulated by two checkouts of the starter at different paths, each with
its own local cache: A packs with writes enabled and uploads; B starts with an empty local
cache and no doit state and gets every asset from the remote, byte for byte. Faults are
injected by a small proxy in front of nginx (5xx, cut bodies, wrong lengths, a stall, a
redirect), by a closed port, by stopping nginx mid-run and by editing the server's files.
Every one leaves a correct build and one warning line.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PACKER_ENV
from PIL import Image
from prometeu_cache.keys import blake3_hex
from remote_server import FaultProxy, Nginx, closed_port, nginx_binary, running_nginx
from test_doit_support import (
    STARTER,
    Run,
    base_env,
    copy_project,
    events,
    run_doit,
    run_packer,
)

REMOTE_ENV = tuple(n for n in PACKER_ENV if n.startswith("PROMETEU_PACKER_REMOTE_CACHE"))
STARTER_ASSETS = 5
REMOTE_WARNINGS = ("build.remote_cache_unavailable", "build.remote_cache_corrupt")

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """One real nginx WebDAV store per test worker, stopped at the end of the session."""
    with running_nginx(tmp_path_factory.mktemp("nginx")) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """A folder of its own on the shared server for each test."""
    return f"t-{uuid.uuid4().hex[:12]}"


def env(**extra: str | None) -> dict[str, str]:
    """A packer command's environment with none of the developer's remote settings."""
    cleared: dict[str, str | None] = {name: None for name in REMOTE_ENV}
    return base_env(**{**cleared, "PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT": "2", **extra})


def pack(project: Path, *args: str, extra: dict[str, str | None] | None = None) -> Run:
    """`prometeu-packer [ARGS] pack` in `project`, its events in project/../events-*.jsonl."""
    log = project.parent / f"events-{project.name}.jsonl"
    log.unlink(missing_ok=True)
    return run_packer(project, "--events", str(log), *args, "pack", env=env(**(extra or {})))


def run_events(project: Path) -> list[dict[str, Any]]:
    return events(project.parent / f"events-{project.name}.jsonl")


def tiers(evts: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["data"].get("tier")) for e in evts if e["kind"].startswith("cache_")]


def warning_lines(run: Run) -> list[str]:
    return [line for line in run.output.splitlines() if any(c in line for c in REMOTE_WARNINGS)]


def seed(tmp_path: Path, url: str) -> bytes:
    """Checkout A packs with writes enabled (uploading everything); its assets.pa."""
    a = copy_project(STARTER, tmp_path / "a")
    run = pack(a, "--remote-cache", url, "--remote-cache-write")
    assert warning_lines(run) == [], run.output
    return (a / "build" / "assets.pa").read_bytes()


def checkout_b(tmp_path: Path) -> Path:
    b = copy_project(STARTER, tmp_path / "elsewhere" / "b")
    assert not (b / ".prometeu-cache").exists() and not list(b.glob(".doit.db*"))
    return b


# -- two machines ---------------------------------------------------------------------------


def test_second_checkout_gets_every_asset_from_the_remote(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    url = f"{nginx.url}/{prefix}"
    expected = seed(tmp_path, url)
    stored = nginx.files(prefix)
    assert sum(p.startswith(f"{prefix}/ac/") for p in stored) == STARTER_ASSETS
    assert sum(p.startswith(f"{prefix}/cas/") for p in stored) == STARTER_ASSETS
    for path, body in stored.items():
        if "/ac/" in path:  # a JSON record, never pickle, naming its blob
            record = json.loads(body)
            assert f"{prefix}/cas/{record['sha256']}" in stored

    b = checkout_b(tmp_path)
    run = pack(b, "--remote-cache", url)
    assert (b / "build" / "assets.pa").read_bytes() == expected
    assert tiers(run_events(b)) == [("cache_hit", "remote")] * STARTER_ASSETS
    assert f"0 local + {STARTER_ASSETS} remote cache hits, 0 misses" in run.output
    assert warning_lines(run) == []
    assert nginx.files(prefix) == stored  # B only read

    # Now B's own cache holds them: the next build's hits are local.
    (b / "build" / "assets.pa").unlink()
    again = pack(b, "--remote-cache", url)
    assert tiers(run_events(b)) == [("cache_hit", "local")] * STARTER_ASSETS
    assert (b / "build" / "assets.pa").read_bytes() == expected, again.output


def test_second_checkout_gets_every_asset_from_the_remote_with_doit(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    url = f"{nginx.url}/{prefix}"
    a = copy_project(STARTER, tmp_path / "a")
    log_a, log_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    writer = env(
        PROMETEU_PACKER_REMOTE_CACHE=url,
        PROMETEU_PACKER_REMOTE_CACHE_WRITE="1",
        PROMETEU_PACKER_EVENTS=str(log_a),
    )
    run_doit(a, env=writer)
    assert len(nginx.files(f"{prefix}/ac")) == STARTER_ASSETS
    b = checkout_b(tmp_path)
    run = run_doit(b, env=env(PROMETEU_PACKER_REMOTE_CACHE=url, PROMETEU_PACKER_EVENTS=str(log_b)))
    assert tiers(events(log_b)) == [("cache_hit", "remote")] * STARTER_ASSETS, run.output
    assert (b / "build" / "assets.pa").read_bytes() == (a / "build" / "assets.pa").read_bytes()
    assert f"0 local + {STARTER_ASSETS} remote cache hit(s), 0 miss(es)" in run.output
    assert warning_lines(run) == []


def test_doit_with_the_remote_down_builds_and_warns_once(tmp_path: Path) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    down = f"http://127.0.0.1:{closed_port()}/cache"
    run = run_doit(a, env=env(PROMETEU_PACKER_REMOTE_CACHE=down))
    lines = warning_lines(run)
    assert len(lines) == 1 and "cannot connect" in lines[0], run.output
    assert f"0 local + 0 remote cache hit(s), {STARTER_ASSETS} miss(es)" in run.output
    assert (a / "build" / "assets.pa").exists()


def test_a_restored_build_is_reused_without_asking_the_remote(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    """build/ restored, local cache empty, one input re-encoded: only that asset is asked
    of the remote (the others keep their bytes from the previous build)."""
    seed(tmp_path, f"{nginx.url}/{prefix}")
    b = copy_project(tmp_path / "a", tmp_path / "elsewhere" / "b", keep=("build",))
    png = sorted((b / "assets").rglob("*.png"))[0]
    with Image.open(png) as img:
        img.load()
        img.save(png, format="PNG", compress_level=1)  # same pixels, other bytes
    with FaultProxy(nginx.port) as proxy:
        run = pack(b, "--remote-cache", f"{proxy.url}/{prefix}")
    assert tiers(run_events(b)) == [("cache_miss", "remote")], run.output
    assert proxy.requests == 1  # the record of the one new key: absent


def test_read_only_by_default_leaves_the_server_untouched(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    """The server would accept writes (WebDAV PUT on), but nothing asked for them."""
    before = nginx.files()
    a = copy_project(STARTER, tmp_path / "a")
    run = pack(a, extra={"PROMETEU_PACKER_REMOTE_CACHE": f"{nginx.url}/{prefix}"})
    assert tiers(run_events(a)) == [("cache_miss", "remote")] * STARTER_ASSETS
    assert warning_lines(run) == [], run.output
    assert nginx.files() == before
    assert not (nginx.store / prefix).exists()


def test_write_switch_from_the_environment_and_pyproject(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    (a / "pyproject.toml").write_text(
        f'[tool.prometeu-packer]\nremote-cache = "{nginx.url}/{prefix}"\n'
        "remote-cache-write = true\n"
    )
    pack(a)
    assert len(nginx.files(f"{prefix}/ac")) == STARTER_ASSETS


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "only", "code"),
    [
        ("500", "", "build.remote_cache_unavailable"),
        ("truncate", "/cas/", "build.remote_cache_unavailable"),
        ("wrong_length", "/cas/", "build.remote_cache_corrupt"),
        ("slow", "", "build.remote_cache_unavailable"),
        ("redirect", "", "build.remote_cache_unavailable"),
    ],
)
def test_a_misbehaving_server_leaves_a_correct_build_and_one_warning(
    nginx: Nginx, prefix: str, tmp_path: Path, fault: str, only: str, code: str
) -> None:
    expected = seed(tmp_path, f"{nginx.url}/{prefix}")
    b = checkout_b(tmp_path)
    with FaultProxy(nginx.port, slow_seconds=2.0) as proxy:
        proxy.fault, proxy.only = fault, only
        slow: dict[str, str | None] = {"PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT": "0.7"}
        timeout = slow if fault == "slow" else {}
        run = pack(b, "--remote-cache", f"{proxy.url}/{prefix}", extra=timeout)
    assert (b / "build" / "assets.pa").read_bytes() == expected
    lines = warning_lines(run)
    assert len(lines) == 1 and code in lines[0], run.output
    if fault in ("500", "slow", "redirect"):
        # The circuit opened: not one request per asset against a failing server.
        assert proxy.requests < STARTER_ASSETS + 3, proxy.requests
    assert "elsewhere.invalid" not in json.dumps(run_events(b)) or fault == "redirect"
    warned = [e for e in run_events(b) if e["kind"] == "diagnostics_updated"]
    assert [e["data"]["code"] for e in warned] == [code]


def test_a_refused_connection_leaves_a_correct_build_and_one_warning(tmp_path: Path) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    run = pack(a, "--remote-cache", f"http://127.0.0.1:{closed_port()}/cache")
    lines = warning_lines(run)
    assert len(lines) == 1 and "cannot connect" in lines[0], run.output
    assert tiers(run_events(a)) == [("cache_miss", "remote")] * STARTER_ASSETS


def test_nginx_stopped_mid_run(tmp_path: Path) -> None:
    with running_nginx(tmp_path / "own-nginx") as server:
        expected = seed(tmp_path, f"{server.url}/c")
        b = checkout_b(tmp_path)
        with FaultProxy(server.port) as proxy:
            # After six complete answers (at least one record and its blob) nginx stops.
            proxy.on_response = lambda n: server.stop() if n == 6 else None
            run = pack(b, "--remote-cache", f"{proxy.url}/c")
        assert server.proc is None  # really stopped during the run
    assert (b / "build" / "assets.pa").read_bytes() == expected
    lines = warning_lines(run)
    assert len(lines) == 1 and "build.remote_cache_unavailable" in lines[0], run.output
    hits = [t for t in tiers(run_events(b)) if t == ("cache_hit", "remote")]
    assert 0 < len(hits) < STARTER_ASSETS


def test_corrupt_blob_on_the_server_is_a_reported_miss_never_packed(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    url = f"{nginx.url}/{prefix}"
    expected = seed(tmp_path, url)
    blob = sorted((nginx.store / prefix / "cas").iterdir())[0]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped on the server's disk
    blob.write_bytes(bytes(data))
    b = checkout_b(tmp_path)
    run = pack(b, "--remote-cache", url)
    assert (b / "build" / "assets.pa").read_bytes() == expected
    seen = tiers(run_events(b))
    assert seen.count(("cache_miss", "remote")) == 1
    assert seen.count(("cache_hit", "remote")) == STARTER_ASSETS - 1
    miss = next(e for e in run_events(b) if e["kind"] == "cache_miss")
    assert "SHA-256" in miss["data"]["reason"]
    lines = warning_lines(run)
    assert len(lines) == 1 and "build.remote_cache_corrupt" in lines[0], run.output


def test_record_pointing_at_a_missing_blob_is_a_reported_miss(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    url = f"{nginx.url}/{prefix}"
    expected = seed(tmp_path, url)
    sorted((nginx.store / prefix / "cas").iterdir())[0].unlink()
    b = checkout_b(tmp_path)
    run = pack(b, "--remote-cache", url)
    assert (b / "build" / "assets.pa").read_bytes() == expected
    assert tiers(run_events(b)).count(("cache_miss", "remote")) == 1
    lines = warning_lines(run)
    assert len(lines) == 1 and "lacks" in lines[0], run.output


def test_an_entry_failing_the_family_checks_is_never_packed_and_a_writer_replaces_it(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    """A record and blob that agree with each other (digests, size) but not with the
    asset: the same family checks as a local hit refuse it."""
    url = f"{nginx.url}/{prefix}"
    expected = seed(tmp_path, url)
    record_file = sorted((nginx.store / prefix / "ac").iterdir())[0]
    good = record_file.read_bytes()
    record = json.loads(good)
    forged = b"\x01" * 10
    sha = hashlib.sha256(forged).hexdigest()
    (nginx.store / prefix / "cas" / sha).write_bytes(forged)
    record.update(sha256=sha, blake3=blake3_hex(forged), size=len(forged))
    record_file.write_text(json.dumps(record))
    b = checkout_b(tmp_path)
    run = pack(b, "--remote-cache", url, "--remote-cache-write")
    assert (b / "build" / "assets.pa").read_bytes() == expected
    assert tiers(run_events(b)).count(("cache_miss", "remote")) == 1
    lines = warning_lines(run)
    assert len(lines) == 1 and "build.remote_cache_corrupt" in lines[0], run.output
    assert json.loads(record_file.read_bytes())["sha256"] == json.loads(good)["sha256"]


@pytest.mark.parametrize(
    "body",
    [b"\x00not json", b'{"format": NaN}', b"[" * 100_000, b'{"key": "another"}'],
    ids=["garbage", "nan", "deep", "fields"],
)
def test_a_bad_record_on_the_server_is_a_reported_miss(
    nginx: Nginx, prefix: str, tmp_path: Path, body: bytes
) -> None:
    url = f"{nginx.url}/{prefix}"
    expected = seed(tmp_path, url)
    sorted((nginx.store / prefix / "ac").iterdir())[0].write_bytes(body)
    b = checkout_b(tmp_path)
    run = pack(b, "--remote-cache", url)
    assert (b / "build" / "assets.pa").read_bytes() == expected
    assert tiers(run_events(b)).count(("cache_hit", "remote")) == STARTER_ASSETS - 1
    lines = warning_lines(run)
    assert len(lines) == 1 and "build.remote_cache_corrupt" in lines[0], run.output


def test_a_refused_upload_is_a_warning(nginx: Nginx, prefix: str, tmp_path: Path) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    with FaultProxy(nginx.port) as proxy:
        proxy.fault, proxy.only = "500", "/cas/"
        run = pack(a, "--remote-cache", f"{proxy.url}/{prefix}", "--remote-cache-write")
    assert "success" in run.output
    lines = warning_lines(run)
    assert len(lines) == 1 and "build.remote_cache_unavailable" in lines[0], run.output
    assert nginx.files(prefix) == {}  # no record was uploaded without its blob


def test_a_stalled_upload_neither_fails_nor_holds_the_build(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    with FaultProxy(nginx.port, slow_seconds=3.0) as proxy:
        proxy.fault, proxy.only = "slow", "/cas/"
        t0 = time.monotonic()
        run = pack(
            a,
            "--remote-cache",
            f"{proxy.url}/{prefix}",
            "--remote-cache-write",
            extra={"PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT": "0.7"},
        )
        took = time.monotonic() - t0
    assert (a / "build" / "assets.pa").exists() and took < 6, (took, run.output)
    lines = warning_lines(run)
    assert len(lines) == 1 and "timed out" in lines[0], run.output
    assert nginx.files(f"{prefix}/ac") == {}  # no record without its blob


# -- credentials, stats, settings ------------------------------------------------------------


def test_credentials_are_sent_but_never_shown_or_written(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    token, password = "tok-SECRET-4711", "pw-SECRET-0815"
    a = copy_project(STARTER, tmp_path / "a")
    with FaultProxy(nginx.port) as proxy:
        url = f"http://user:{password}@127.0.0.1:{proxy.url.rsplit(':', 1)[1]}/{prefix}?k={token}"
        run = pack(
            a,
            "--remote-cache",
            url,
            "--remote-cache-write",
            extra={"PROMETEU_PACKER_REMOTE_CACHE_TOKEN": token},
        )
        assert proxy.authorization == {f"Bearer {token}"}
        proxy.fault = "500"
        failed = pack(a, "--remote-cache", url, extra={"PROMETEU_PACKER_REMOTE_CACHE_TOKEN": token})
        stats = run_packer(
            a,
            "--remote-cache",
            url,
            "cache",
            "stats",
            "--json",
            env=env(PROMETEU_PACKER_REMOTE_CACHE_TOKEN=token),
            check=False,
        )
    assert "credentials in the remote cache URL" in run.output
    assert len(nginx.files(f"{prefix}/ac")) == STARTER_ASSETS
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    for secret in (token, password):
        for shown in (run.output, failed.output, stats.output):
            assert secret not in shown
        assert not any(secret.encode() in body for body in written)


def test_basic_auth_from_the_environment(nginx: Nginx, prefix: str, tmp_path: Path) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    with FaultProxy(nginx.port) as proxy:
        pack(
            a,
            "--remote-cache",
            f"{proxy.url}/{prefix}",
            extra={
                "PROMETEU_PACKER_REMOTE_CACHE_USER": "ci",
                "PROMETEU_PACKER_REMOTE_CACHE_PASSWORD": "pw-SECRET",
            },
        )
    assert proxy.authorization == {"Basic Y2k6cHctU0VDUkVU"}


def test_cache_stats_and_verify_report_the_remote_tier(
    nginx: Nginx, prefix: str, tmp_path: Path
) -> None:
    url = f"{nginx.url}/{prefix}"
    seed(tmp_path, url)
    b = checkout_b(tmp_path)
    packed = run_packer(b, "--remote-cache", url, "pack", "--json", env=env())
    result = json.loads(packed.stdout)
    assert (result["cache_hits"], result["remote_hits"]) == (STARTER_ASSETS, STARTER_ASSETS)
    for command in ("stats", "verify"):
        run = run_packer(b, "--remote-cache", url, "cache", command, "--json", env=env())
        remote = json.loads(run.stdout)["remote"]
        assert remote["reachable"] is True and remote["round_trip_ms"] is not None
        assert remote["write"] is False and remote["url"] == url
        assert remote["hits"] == STARTER_ASSETS and remote["hit_rate_percent"] == 100
    human = run_packer(b, "--remote-cache", url, "cache", "stats", env=env())
    assert "reachable" in human.output and "hit rate 100%" in human.output
    down = f"http://127.0.0.1:{closed_port()}/x"
    gone = run_packer(b, "--remote-cache", down, "cache", "stats", "--json", env=env())
    assert json.loads(gone.stdout)["remote"]["reachable"] is False
    assert "build.remote_cache_unavailable" in gone.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tool.prometeu-packer\ncache-dir = 1\n", "not valid TOML"),
        ('[tool.prometeu-packer]\ncache-dri = "x"\n', "unknown key 'cache-dri'"),
        ("[tool.prometeu-packer]\ncache-size-limit = -5\n", "cache-size-limit must be"),
        ('[tool.prometeu-packer]\nremote-cache = "ftp://x/y"\n', "not an http(s) URL"),
    ],
)
def test_a_malformed_setting_is_a_warning(tmp_path: Path, text: str, expected: str) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    (a / "pyproject.toml").write_text(text)
    run = pack(a)
    lines = [line for line in run.output.splitlines() if "config.invalid_setting" in line]
    assert len(lines) == 1 and expected in lines[0], run.output


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PROMETEU_PACKER_REMOTE_CACHE_WRITE", "maybe", "remote writes stay off"),
        ("PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT", "soon", "not a number of seconds"),
    ],
)
def test_a_malformed_remote_variable_is_a_warning(
    nginx: Nginx, prefix: str, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    a = copy_project(STARTER, tmp_path / "a")
    run = pack(a, "--remote-cache", f"{nginx.url}/{prefix}", extra={name: value})
    lines = [line for line in run.output.splitlines() if "config.invalid_setting" in line]
    assert len(lines) == 1 and expected in lines[0], run.output
    assert nginx.files(prefix) == {}  # writes stayed off
