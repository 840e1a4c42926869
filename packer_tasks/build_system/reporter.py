"""doit reporter for packing: quiet per task, clear failures, one summary line per run.

It renders what the tasks returned (their values reach the reporter from any process, also
from `doit -n N` workers); it never re-derives packer semantics, and it closes nothing: the
run's lifecycle is closed by the tasks' teardown, whatever reporter doit uses.
"""

from __future__ import annotations

import time
from typing import Any

from doit.reporter import ConsoleReporter

GROUP = "pack"
ASSEMBLE = f"{GROUP}:assemble"


class PackReporter(ConsoleReporter):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['reporter']."""

    def __init__(self, outstream: Any, options: Any) -> None:
        super().__init__(outstream, options)
        self._t0 = time.monotonic()
        self._assembled: dict[str, Any] | None = None
        self._current: int | None = None  # build-set size when assemble was up to date

    def add_success(self, task: Any) -> None:
        values = getattr(task, "values", None) or {}
        if task.name == ASSEMBLE and "packed_assets" in values:
            self._assembled = values
        super().add_success(task)

    def execute_task(self, task: Any) -> None:
        if not task.name.startswith(f"{GROUP}:") and task.actions:
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        if task.name == ASSEMBLE:
            self._current = int((getattr(task, "meta", None) or {}).get("assets", 0))
        else:
            super().skip_uptodate(task)

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def _write_failure(self, result: Any, write_exception: bool = True) -> None:
        err = result["exception"]
        message = err.get_msg() if hasattr(err, "get_msg") else str(err)
        self.write(f"packer: {result['task'].name} failed\n{message.strip()}\n")

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._t0:.2f}s"

    def complete_run(self) -> None:
        for failure in self.failures:
            self._write_failure(failure)
        for msg in self.runtime_errors:
            self.write(f"packer: doit could not run: {msg}\n")
        for text in (self._assembled or {}).get("warnings") or []:
            self.write(f"packer: warning {text}\n")
        line = self._summary()
        if line:
            self.write(line + "\n")

    def _summary(self) -> str | None:
        """One line saying what this run checked and did."""
        if self.failures:
            return f"pack failed: {len(self.failures)} task(s) failed, {self._elapsed()}"
        if self._assembled is not None:
            v = self._assembled
            n = int(v["packed_assets"])
            hits = f"{int(v.get('cache_hits', 0))} cache hit(s)"
            if v.get("remote_hits") is not None:  # a remote tier is configured
                remote = int(v["remote_hits"])
                hits = (
                    f"{int(v.get('cache_hits', 0)) - remote} local + {remote} remote cache hit(s)"
                )
            counts = (
                f"{hits}, "
                f"{int(v.get('cache_misses', 0))} miss(es), "
                f"{int(v.get('up_to_date', 0))} up-to-date, {self._elapsed()}"
            )
            if v.get("published"):
                return f"packed {n} asset(s): {counts}"
            return f"build/assets.pa is up to date: {n} asset(s), {counts}"
        if self._current is not None:
            n = self._current
            return (
                f"build/assets.pa is up to date: {n} asset(s), 0 cache hit(s), 0 miss(es), "
                f"{n} up-to-date, {self._elapsed()}"
            )
        return None
