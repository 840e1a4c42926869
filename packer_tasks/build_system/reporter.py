"""doit reporter for packing: quiet per task, clear failures, one summary line per run.

It renders what the packer computed (the run's outcomes and the pack result); it never
re-derives packer semantics.
"""

from __future__ import annotations

import time
from typing import Any

from doit.reporter import ConsoleReporter

from .run import current_run, end_run
from .tasks import GROUP


class PackReporter(ConsoleReporter):  # type: ignore[misc]
    """Registered as DOIT_CONFIG['reporter']."""

    def __init__(self, outstream: Any, options: Any) -> None:
        super().__init__(outstream, options)
        self._t0 = time.monotonic()
        # What the pack tasks returned (task values reach the reporter from any process,
        # also from `doit -n N` workers): asset_id -> "hit"/"miss", and assemble's result.
        self._looked_up: dict[int, str] = {}
        self._assembled: dict[str, Any] | None = None
        self._assemble_uptodate = False

    def add_success(self, task: Any) -> None:
        values = getattr(task, "values", None) or {}
        if task.name.startswith(f"{GROUP}:asset-") and "cache_hit" in values:
            asset_id = int(task.name.rsplit("-", 1)[1])
            self._looked_up[asset_id] = "hit" if values["cache_hit"] else "miss"
        elif task.name == f"{GROUP}:assemble" and "packed_assets" in values:
            self._assembled = values
        super().add_success(task)

    def _counts(self, total: int) -> dict[str, int]:
        """Hits/misses/up-to-date of this run from the tasks' own results: an asset task's
        lookup wins over assemble's view of the same asset."""
        outcomes: dict[int, str] = {}
        if self._assembled is not None:
            outcomes.update({int(k): str(v) for k, v in dict(self._assembled["outcomes"]).items()})
        outcomes.update(self._looked_up)
        hits = sum(1 for o in outcomes.values() if o == "hit")
        misses = sum(1 for o in outcomes.values() if o == "miss")
        return {
            "cache_hits": hits,
            "cache_misses": misses,
            "up_to_date": max(total - hits - misses, 0),
        }

    def execute_task(self, task: Any) -> None:
        if not task.name.startswith("pack:") and task.actions:
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        if task.name.startswith("pack:"):
            self._assemble_uptodate |= task.name == f"{GROUP}:assemble"
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
            total = len(run.snapshot.build_set())
            c = self._counts(total)
            counts = (
                f"{c['cache_hits']} cache hit(s), {c['cache_misses']} miss(es), "
                f"{c['up_to_date']} up-to-date, {elapsed:.2f}s"
            )
            if self._assembled is not None:
                line = f"packed {self._assembled['packed_assets']} asset(s): {counts}"
            elif self.failures:
                blocked = sum(
                    1 for f in self.failures if f["task"].name.startswith(f"{GROUP}:asset-")
                )
                line = (
                    f"pack failed: {len(self.failures)} task(s) failed "
                    f"({blocked} asset(s) blocked), {elapsed:.2f}s"
                )
                run.finish(line, "blocked" if blocked else "failed", c)
            elif self._assemble_uptodate:
                # assemble was up to date; asset tasks may still have run (e.g. after
                # `doit forget pack:asset-N`), and their lookups count like any other.
                line = f"build/assets.pa is up to date: {total} asset(s), {counts}"
                run.finish(line, "success", c)
            else:  # only some asset tasks were selected (`doit pack:asset-3`)
                done = len(self._looked_up)
                line = (
                    f"materialized {done} asset(s) into the cache, build/ not assembled "
                    f"(run `doit pack`): {counts}"
                )
                run.finish(line, "success", c)
            self.write(line + "\n")
            end_run()
