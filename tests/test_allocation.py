"""The collector pause gives the collector back exactly as it found it."""

from __future__ import annotations

import gc
import threading

from packer_tasks.allocation import bulk_allocation


def test_paused_inside_and_restored_after_nesting_and_errors() -> None:
    assert gc.isenabled()
    with bulk_allocation():
        assert not gc.isenabled()
        with bulk_allocation():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with bulk_allocation():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()


def test_a_host_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with bulk_allocation():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_threads_leave_it_on() -> None:
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with bulk_allocation():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    with bulk_allocation():
        pass  # entered while the other thread paused it: does not switch it back on
    assert not gc.isenabled()
    leave.set()
    t.join(5)
    assert gc.isenabled()
