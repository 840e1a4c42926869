"""The Studio's event lane adapter, without a browser: what a page receives for a run of
packer events. Lifecycle events arrive individually and in order, progress is coalesced
(never past its last value), runtime transitions become their own message, and a page that
connects late gets the backlog over server-sent events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from conftest import STARTER, copy_project
from studio_support import studio

from packer_tasks.events.sink import OperationEmitter
from packer_tasks.models.event import EventKind
from packer_tasks.studio.lane import EventLane


def test_lifecycle_events_stay_individual_and_progress_is_coalesced() -> None:
    lane = EventLane()
    em = OperationEmitter(lane, "game")
    em.emit(EventKind.BUILD_STARTED, "pack started")
    for i in range(1, 501):
        em.emit(EventKind.PROGRESS_UPDATED, f"materialized {i}", progress=(i, 500))
        if i % 100 == 0:
            em.emit(EventKind.CACHE_HIT, f"hit {i}")
    em.emit(EventKind.BUILD_FINISHED, "packed", data={"status": "success"})
    em.emit(EventKind.ACTION_FAILED, "something refused")
    messages = lane.since(0)
    kinds = [m.get("kind") for m in messages if m["type"] == "activity"]
    assert kinds == ["build_started"] + ["cache_hit"] * 5 + ["build_finished", "action_failed"]
    progress = [m for m in messages if m["type"] == "progress"]
    assert 1 <= len(progress) < 100  # coalesced
    assert progress[-1]["current"] == 500 and progress[-1]["done"]
    # One operation's messages keep the packer's order; lane ids are strictly increasing.
    seqs = [m["sequence"] for m in messages]
    assert seqs == sorted(seqs)
    assert [m["id"] for m in messages] == list(range(1, len(messages) + 1))
    finished = next(m for m in messages if m.get("kind") == "build_finished")
    assert finished["level"] == "success"


def test_runtime_transitions_become_runtime_messages() -> None:
    lane = EventLane()
    em = OperationEmitter(lane, "game")
    em.emit(
        EventKind.RUNTIME_STATE_CHANGED,
        "runtime healthy → stale: coin.png changed",
        data={"from": "healthy", "to": "stale"},
    )
    runtime = [m for m in lane.since(0) if m["type"] == "runtime"]
    assert runtime == [
        {
            "id": 1,
            "type": "runtime",
            "state": "stale",
            "previous": "healthy",
            "why": "runtime healthy → stale: coin.png changed",
        }
    ]


def test_a_late_page_gets_the_backlog_over_server_sent_events(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    with studio(project) as server:
        em = OperationEmitter(server.state.lane, "game")
        em.emit(EventKind.ACTION_APPLIED, "excluded asset 1")
        em.emit(EventKind.ACTION_FAILED, "relocate refused")

        async def first_two() -> list[dict[str, object]]:
            got: list[dict[str, object]] = []
            async with (
                httpx.AsyncClient(base_url=server.url, timeout=10) as client,
                client.stream("GET", "/api/events") as stream,
            ):
                assert stream.headers["content-type"].startswith("text/event-stream")
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        got.append(json.loads(line[6:]))
                    if len(got) == 2:
                        return got
            return got

        got = asyncio.run(first_two())
    assert [m["kind"] for m in got] == ["action_applied", "action_failed"]
    assert [m["level"] for m in got] == ["success", "error"]
