"""JSONL event streaming: the sink itself, and `prometeu-packer --events` end to end."""

from __future__ import annotations

import io
import json
import shutil
import sys
import threading
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import STARTER, copy_project, run_cli

from packer_tasks.cli import cli
from packer_tasks.cli import render as cli_render
from packer_tasks.events import (
    CollectingSink,
    FanoutSink,
    JsonlSink,
    OperationEmitter,
    open_jsonl_sink,
)
from packer_tasks.models.event import Event, EventKind

ENVELOPE = {
    "project_id",
    "operation_id",
    "sequence",
    "kind",
    "timestamp",
    "summary",
    "progress",
    "affected_assets",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(STARTER, tmp_path / "starter")


def check_stream(lines: list[str]) -> list[dict[str, Any]]:
    """Every line is one envelope; sequences strictly increase within each operation."""
    records = [json.loads(line) for line in lines]
    last: dict[str, int] = defaultdict(int)
    for r in records:
        assert r.keys() >= ENVELOPE
        assert r["kind"] in {k.value for k in EventKind}
        stamp = datetime.fromisoformat(r["timestamp"])
        assert stamp.utcoffset() == timedelta(0)
        assert r["progress"] is None or set(r["progress"]) == {"current", "total"}
        assert isinstance(r["affected_assets"], list)
        assert r["sequence"] > last[r["operation_id"]]
        last[r["operation_id"]] = r["sequence"]
        Event.model_validate(r)  # round-trips into the model
    return records


def check_pack(records: list[dict[str, Any]], *, hits: int) -> None:
    kinds = [r["kind"] for r in records]
    assert len({r["operation_id"] for r in records}) == 1
    assert kinds.count("build_started") == kinds.count("build_finished") == 1
    assert kinds.index("build_started") < kinds.index("build_finished")
    count = Counter(kinds)
    finished = records[kinds.index("build_finished")]["data"]
    assert count["cache_hit"] + count["cache_miss"] == finished["packed_assets"] == 5
    assert (count["cache_hit"], finished["cache_hits"]) == (hits, hits)


# -- the sink ----------------------------------------------------------------------------


def test_each_event_is_one_parseable_line() -> None:
    buf = io.StringIO()
    em = OperationEmitter(JsonlSink(buf), "demo")
    em.emit(EventKind.BUILD_STARTED, "start — ünïcode")
    em.emit(EventKind.PROGRESS_UPDATED, "p", progress=(1, 2))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert [r["kind"] for r in check_stream(lines)] == ["build_started", "progress_updated"]


def test_lines_do_not_interleave_across_threads() -> None:
    buf = io.StringIO()
    sink = JsonlSink(buf)

    def work() -> None:
        em = OperationEmitter(sink, "demo")
        for i in range(300):
            em.emit(EventKind.PROGRESS_UPDATED, "x" * 200, progress=(i, 300))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(check_stream(buf.getvalue().splitlines())) == 8 * 300


def test_file_spec_truncates_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("old run\n" * 10)
    sink = open_jsonl_sink(str(path))
    OperationEmitter(sink, "demo").emit(EventKind.BUILD_STARTED, "new run")
    sink.close()
    assert sink.stream.closed
    assert len(check_stream(path.read_text().splitlines())) == 1


def test_stdout_spec_never_closes_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    for spec in ("jsonl", "-"):
        sink = open_jsonl_sink(spec)
        OperationEmitter(sink, "demo").emit(EventKind.BUILD_STARTED, spec)
        sink.close()
        assert not sys.stdout.closed
    assert len(check_stream(capsys.readouterr().out.splitlines())) == 2


def test_fanout_reaches_every_sink_and_reraises_after() -> None:
    class Broken:
        def publish(self, event: Event) -> None:
            raise RuntimeError("boom")

    a, b = CollectingSink(), CollectingSink()
    em = OperationEmitter(FanoutSink(a, Broken(), b), "demo")
    with pytest.raises(RuntimeError):
        em.emit(EventKind.BUILD_STARTED, "x")
    assert len(a.events) == len(b.events) == 1


# -- the CLI -----------------------------------------------------------------------------


def test_cli_events_file_capture_of_pack(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    code, stdout, stderr = run_cli("--events", str(out), "pack", cwd=project)
    assert code == 0, stderr
    check_pack(check_stream(out.read_text().splitlines()), hits=0)
    assert "packed 5" in stdout  # human output stays on stdout with a file spec

    shutil.rmtree(project / "build")  # build/ lost: the next pack gets every asset as a hit
    code, _, stderr = run_cli("--project", str(project), "--events", str(out), "pack", cwd=tmp_path)
    assert code == 0, stderr
    check_pack(check_stream(out.read_text().splitlines()), hits=5)  # truncated, not appended


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_events_jsonl_keeps_stdout_pure(project: Path, as_json: bool) -> None:
    args = ["--events", "jsonl", "pack", *(["--json"] if as_json else [])]
    code, stdout, stderr = run_cli(*args, cwd=project)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    check_pack(check_stream(lines), hits=0)
    if as_json:
        assert '"packed_assets": 5' in stderr
    else:
        assert "packed 5" in stderr


def test_cli_events_unwritable_path_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli(
        "--events", str(tmp_path / "missing" / "e.jsonl"), "pack", cwd=project
    )
    assert code == 2
    assert "--events" in stderr
    assert not (project / "build" / "assets.pa").exists()


def test_in_process_run_restores_human_output(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--events jsonl` moves human output to stderr for one invocation only."""
    monkeypatch.delenv("PROMETEU_PACKER_CACHE", raising=False)
    result = CliRunner().invoke(cli, ["--project", str(project), "--events", "jsonl", "pack"])
    assert result.exit_code == 0, result.output
    check_pack(check_stream(result.stdout.splitlines()), hits=0)
    assert cli_render.out._file is None
