"""CoalescingSink: progress may be thinned out; nothing else is dropped, invented or reordered."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from packer_tasks.events import CoalescingSink, CollectingSink, FanoutSink, OperationEmitter
from packer_tasks.models.event import TERMINAL_KINDS, Event, EventKind

P = EventKind.PROGRESS_UPDATED


class FakeClock:
    """A clock the test moves by hand, so throttling is deterministic."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def key(e: Event) -> tuple[str, int]:
    return (e.operation_id, e.sequence)


def by_op(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        out[e.operation_id].append(e)
    return out


def is_subsequence(small: list[Event], big: list[Event]) -> bool:
    it = iter(key(e) for e in big)
    return all(k in it for k in (key(e) for e in small))


def check_operation(published: list[Event], delivered: list[Event], *, flushed: bool) -> None:
    """The §10 contract for one operation's stream."""
    assert is_subsequence(delivered, published), "delivered events must be a subsequence"
    seqs = [e.sequence for e in delivered]
    assert seqs == sorted(set(seqs)), "sequences strictly increasing"
    assert [key(e) for e in delivered if e.kind is not P] == [
        key(e) for e in published if e.kind is not P
    ], "every non-progress event, in order"
    got = {key(d) for d in delivered}
    last_progress: Event | None = None
    for e in published:
        if e.kind is P:
            last_progress = e
            continue
        if last_progress is not None:
            assert key(last_progress) in got, (
                "the last progress before a non-progress event must be delivered"
            )
        last_progress = None
    if flushed and published and published[-1].kind is P:
        assert key(delivered[-1]) == key(published[-1]), "flush delivers the final progress"


def check(published: list[Event], delivered: list[Event], *, flushed: bool = True) -> None:
    pub, dlv = by_op(published), by_op(delivered)
    assert set(dlv) <= set(pub)
    for op, events in pub.items():
        check_operation(events, dlv.get(op, []), flushed=flushed)


def wire(
    min_interval: float, clock: FakeClock
) -> tuple[CollectingSink, CoalescingSink, CollectingSink, FanoutSink]:
    """published <- tee -> coalescer -> delivered."""
    published, delivered = CollectingSink(), CollectingSink()
    co = CoalescingSink(delivered, min_interval, clock)
    return published, co, delivered, FanoutSink(published, co)


def test_burst_of_progress_is_bounded_and_terminals_arrive_once_in_order() -> None:
    clock = FakeClock()
    published, _co, delivered, tee = wire(0.05, clock)
    em = OperationEmitter(tee, "demo")
    em.emit(EventKind.BUILD_STARTED, "start")
    n = 10_000
    for i in range(1, n + 1):
        clock.now += 0.0001  # 10,000 events over one second
        em.emit(P, f"step {i}", progress=(i, n))
    em.emit(EventKind.BUILD_FINISHED, "done", data={"status": "success"})

    got = delivered.events
    progress = [e for e in got if e.kind is P]
    assert 2 <= len(progress) <= 50
    terminals = [e.kind for e in got if e.kind in TERMINAL_KINDS]
    assert terminals == [EventKind.BUILD_STARTED, EventKind.BUILD_FINISHED]
    assert got[-2].progress is not None and got[-2].progress.current == n
    check(published.events, got)


def test_frozen_clock_keeps_first_and_last_progress_only() -> None:
    published, co, delivered, tee = wire(0.05, FakeClock())
    em = OperationEmitter(tee, "demo")
    for i in range(1, 10_001):
        em.emit(P, "x", progress=(i, 10_000))
    assert [e.sequence for e in delivered.events] == [1]
    co.flush()
    assert [e.sequence for e in delivered.events] == [1, 10_000]
    co.flush()  # nothing left: no duplicates
    assert len(delivered.events) == 2
    check(published.events, delivered.events)


def test_progress_is_spaced_by_min_interval() -> None:
    clock = FakeClock()
    stamps: list[float] = []

    class Stamp:
        def publish(self, event: Event) -> None:
            stamps.append(clock.now)

    co = CoalescingSink(Stamp(), 0.05, clock)
    em = OperationEmitter(co, "demo")
    for i in range(1000):
        clock.now += 0.003
        em.emit(P, "x", progress=(i, 1000))
    assert all(b - a >= 0.05 - 1e-9 for a, b in itertools.pairwise(stamps))


def test_pending_progress_goes_out_before_other_kinds_and_when_due() -> None:
    clock = FakeClock()
    published, co, delivered, tee = wire(0.05, clock)
    a, b = OperationEmitter(tee, "demo"), OperationEmitter(tee, "demo")
    a.emit(P, "a1", progress=(1, 3))
    a.emit(P, "a2", progress=(2, 3))  # pending
    b.emit(EventKind.CACHE_MISS, "other operation")  # does not flush a's progress early
    assert [e.summary for e in delivered.events] == ["a1", "other operation"]
    a.emit(EventKind.CACHE_HIT, "hit")  # flushes a2 first
    assert [e.summary for e in delivered.events] == ["a1", "other operation", "a2", "hit"]
    a.emit(P, "a3", progress=(3, 3))  # pending (interval not elapsed)
    clock.now += 0.06
    co.flush_due()
    assert delivered.events[-1].summary == "a3"
    check(published.events, delivered.events)


def test_every_terminal_kind_passes_individually() -> None:
    published, _co, delivered, tee = wire(10.0, FakeClock())
    em = OperationEmitter(tee, "demo")
    for kind in [
        EventKind.BUILD_STARTED,
        EventKind.PREVIEW_READY,
        EventKind.ACTION_APPLIED,
        EventKind.ACTION_APPLIED,
        EventKind.ACTION_FAILED,
        EventKind.BUILD_FINISHED,
    ]:
        em.emit(kind, kind.value)
    assert [e.kind for e in delivered.events] == [e.kind for e in published.events]


_KINDS = st.sampled_from(
    [
        P,
        P,
        P,
        P,
        EventKind.CACHE_HIT,
        EventKind.CACHE_MISS,
        EventKind.BUILD_STARTED,
        EventKind.BUILD_FINISHED,
        EventKind.ACTION_APPLIED,
        EventKind.DIAGNOSTICS_UPDATED,
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), _KINDS, st.sampled_from([0.0, 0.01, 0.06])), max_size=80),
    st.booleans(),
)
def test_property_subsequence_order_and_last_progress(
    steps: list[tuple[int, EventKind, float]], flush: bool
) -> None:
    clock = FakeClock()
    published, co, delivered, tee = wire(0.05, clock)
    ems = [OperationEmitter(tee, "demo") for _ in range(3)]
    for op, kind, dt in steps:
        clock.now += dt
        ems[op].emit(kind, kind.value, progress=(1, 2) if kind is P else None)
    if flush:
        co.flush()
    # Across operations only non-progress events keep the global order (a delayed progress
    # event may land after another operation's later event); within one, everything does.
    assert [key(e) for e in delivered.events if e.kind is not P] == [
        key(e) for e in published.events if e.kind is not P
    ]
    check(published.events, delivered.events, flushed=flush)


class Tee:
    """Records, then forwards without a shared lock, so the coalescer sees real contention."""

    def __init__(self, record: CollectingSink, forward: CoalescingSink) -> None:
        self.record, self.forward = record, forward

    def publish(self, event: Event) -> None:
        self.record.publish(event)
        self.forward.publish(event)


def test_concurrent_operations_keep_their_own_order() -> None:
    published, delivered = CollectingSink(), CollectingSink()
    co = CoalescingSink(delivered, 0.001)  # real clock
    tee = Tee(published, co)
    barrier = threading.Barrier(8)

    def work() -> None:
        em = OperationEmitter(tee, "demo")
        barrier.wait()
        em.emit(EventKind.BUILD_STARTED, "start")
        for i in range(1, 2001):
            em.emit(P, "p", progress=(i, 2000))
            if i % 250 == 0:
                em.emit(EventKind.CACHE_MISS, f"miss {i}")
        em.emit(EventKind.BUILD_FINISHED, "done")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    co.flush()
    assert len(by_op(published.events)) == 8
    check(published.events, delivered.events)
    for events in by_op(delivered.events).values():
        assert [e.kind for e in events if e.kind in TERMINAL_KINDS] == [
            EventKind.BUILD_STARTED,
            EventKind.BUILD_FINISHED,
        ]
        assert sum(e.kind is EventKind.CACHE_MISS for e in events) == 8
