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
ASSET_PREFIX = f"{GROUP}:asset-"
ASSEMBLE = f"{GROUP}:assemble"


class PackReporter(ConsoleReporter):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['reporter']."""

    def __init__(self, outstream: Any, options: Any) -> None:
        super().__init__(outstream, options)
        self._t0 = time.monotonic()
        self._looked_up: dict[str, bool] = {}  # asset task -> cache hit?
        self._skipped: set[str] = set()  # asset tasks doit found up to date
        self._assembled: dict[str, Any] | None = None
        self._assemble_current = False

    def add_success(self, task: Any) -> None:
        values = getattr(task, "values", None) or {}
        if task.name.startswith(ASSET_PREFIX) and "cache_hit" in values:
            self._looked_up[task.name] = bool(values["cache_hit"])
        elif task.name == ASSEMBLE and "packed_assets" in values:
            self._assembled = values
            for asset_id, outcome in dict(values.get("looked_up") or {}).items():
                # A lookup the pack itself made (e.g. a payload gone from the cache).
                self._looked_up.setdefault(f"{ASSET_PREFIX}{asset_id}", outcome == "hit")
        super().add_success(task)

    def execute_task(self, task: Any) -> None:
        if not task.name.startswith(f"{GROUP}:") and task.actions:
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        if task.name.startswith(ASSET_PREFIX):
            self._skipped.add(task.name)
        elif task.name == ASSEMBLE:
            self._assemble_current = True
        else:
            super().skip_uptodate(task)

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def _write_failure(self, result: Any, write_exception: bool = True) -> None:
        err = result["exception"]
        message = err.get_msg() if hasattr(err, "get_msg") else str(err)
        self.write(f"packer: {result['task'].name} failed\n{message.strip()}\n")

    def _counts(self) -> str:
        hits = sum(self._looked_up.values())
        misses = len(self._looked_up) - hits
        elapsed = time.monotonic() - self._t0
        up = len(self._skipped - set(self._looked_up))
        return f"{hits} cache hit(s), {misses} miss(es), {up} up-to-date, {elapsed:.2f}s"

    def complete_run(self) -> None:
        for failure in self.failures:
            self._write_failure(failure)
        for msg in self.runtime_errors:
            self.write(f"packer: doit could not run: {msg}\n")
        line = self._summary()
        if line:
            self.write(line + "\n")

    def _summary(self) -> str | None:
        """One line saying what this run checked and did (only what it checked)."""
        checked = len(set(self._looked_up) | self._skipped)
        if self.failures:
            blocked = sum(1 for f in self.failures if f["task"].name.startswith(ASSET_PREFIX))
            return (
                f"pack failed: {len(self.failures)} task(s) failed "
                f"({blocked} asset(s) blocked), {time.monotonic() - self._t0:.2f}s"
            )
        if self._assembled is not None:
            n = int(self._assembled["packed_assets"])
            if self._assembled.get("published"):
                return f"packed {n} asset(s): {self._counts()}"
            return f"build/assets.pa is up to date: {n} asset(s), {self._counts()}"
        if self._assemble_current:
            return f"build/assets.pa is up to date: {checked} asset(s), {self._counts()}"
        if checked:  # only some asset tasks were selected (`doit pack:asset-3`)
            return (
                f"materialized {len(self._looked_up)} asset(s) into the cache, build/ not "
                f"assembled (run `doit pack`): {self._counts()}"
            )
        return None
