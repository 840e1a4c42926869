"""Decoding cache misses on the machine's cores.

A family's decode is pure CPU work on bytes (PNG and WAV decoding, palette mapping), so
worker processes — not threads: the GIL would serialize them — run it while the main
process goes on reading, keying, looking up and writing in asset order. The main process
keeps every side effect (events, cache writes, the spool), so output bytes and event order
are the same with one worker or many.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor

from ..families.base import MaterializeOutcome
from .materialize import Pending, decode

JOBS_ENV = "PROMETEU_PACKER_JOBS"
# Below this many assets a pool costs more to start than it saves.
MIN_ASSETS = 24
PARENT_POLL_S = 0.2


def _worker_init(parent: int) -> None:
    """A worker is the main process's helper and nothing more:
    - Ctrl-C is the main process's to handle (it stops the run and shuts the pool down);
    - it holds none of the main process's standard streams (a caller waiting for the
      packer's output to end must not wait for a worker);
    - it exits when the main process is gone (killed, say), instead of waiting forever
      for work that will never come."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.enable()  # forked from inside the pack's bulk allocation
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def job_count() -> int:
    """Worker processes to use: $PROMETEU_PACKER_JOBS, else the cores this process may
    run on. 1 means decode in the main process."""
    configured = os.environ.get(JOBS_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class DecodePool:
    """A process pool for one pack; close it when the pack ends."""

    def __init__(self, workers: int) -> None:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        self.workers = workers

    def submit(self, pending: Pending) -> Future[MaterializeOutcome]:
        return self._pool.submit(decode, pending.decl.type, pending.decl, pending.files)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def decode_pool_for(assets: int) -> DecodePool | None:
    """A pool when the pack is large enough and there is more than one core, else None."""
    workers = job_count()
    if workers < 2 or assets < MIN_ASSETS:
        return None
    return DecodePool(workers)
