"""doit reporter for packing: quiet per task, clear failures, one summary line per run.

It renders what the packer computed (the run's outcomes and the pack result); it never
re-derives packer semantics.
"""

from __future__ import annotations

import time
from typing import Any

from doit.reporter import ConsoleReporter

from .run import current_run, end_run


class PackReporter(ConsoleReporter):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['reporter']."""

    def __init__(self, outstream: Any, options: Any) -> None:
        super().__init__(outstream, options)
        self._t0 = time.monotonic()
        self._skipped = 0

    def execute_task(self, task: Any) -> None:
        if not task.name.startswith("pack:") and task.actions:
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        if task.name.startswith("pack:"):
            self._skipped += 1
        else:
            super().skip_uptodate(task)

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def _write_failure(self, result: Any, write_exception: bool = True) -> None:
        err = result["exception"]
        message = err.get_msg() if hasattr(err, "get_msg") else str(err)
        name = result["task"].name
        self.write(f"packer: {name} failed\n{message.strip()}\n")

    def complete_run(self) -> None:
        for failure in self.failures:
            self._write_failure(failure)
        for msg in self.runtime_errors:
            self.write(f"packer: doit could not run: {msg}\n")
        run = current_run()
        elapsed = time.monotonic() - self._t0
        if run is not None:
            m = run.session.materializer
            total = len(run.snapshot.build_set())
            if run.result is not None and run.result.status.value == "success":
                packed = run.result.packed_assets
                line = (f"packed {packed} asset(s): {m.hits} cache hit(s), {m.misses} "
                        f"miss(es), {m.up_to_date} up-to-date, {elapsed:.2f}s")
            elif self.failures:
                line = (f"pack failed: {len(self.failures)} task(s) failed "
                        f"({len(run.failed)} asset(s) blocked), {elapsed:.2f}s")
            else:
                line = (f"build/assets.pa is up to date: {total} asset(s), 0 cache hit(s), "
                        f"0 miss(es), {total} up-to-date, {elapsed:.2f}s")
            self.write(line + "\n")
            end_run()
