"""What every command shares: the project, the service, `--json`, and error handling."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..events.coalesce import CoalescingSink
from ..events.fanout import FanoutSink
from ..events.jsonl import open_jsonl_sink, writes_to_stdout
from ..events.sink import EventSink
from ..events.terminal import ProgressSink
from ..models.results import OperationResult
from ..service import PackerService
from ..workspace.project import Project, ProjectNotFound, find_project
from ..workspace.settings import resolve_cache
from . import render as _render
from .render import err, exit_code, print_json, print_result

# Commands that show a live progress bar when stderr is a terminal.
PROGRESS_COMMANDS = frozenset({"pack"})

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """Per-invocation state the group builds from global options."""

    def __init__(
        self,
        project_dir: Path | None,
        *,
        events: str | None = None,
        command: str | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.cache_dir: Path | None = None
        self.no_cache = False
        self.remote_cache: str | None = None  # --remote-cache URL
        self.remote_cache_write = False
        self._service: PackerService | None = None
        self._closers: list[Callable[[], None]] = []
        # True when `--events jsonl` owns stdout: human output and `--json` go to stderr.
        self.stdout_reserved = False
        if interactive is None:
            interactive = err.is_terminal
        self.sink: EventSink | None = self._build_sink(
            events, progress=interactive and command in PROGRESS_COMMANDS
        )

    def _build_sink(self, events: str | None, *, progress: bool) -> EventSink | None:
        """The default event wiring: raw JSONL for tools and/or a progress bar for people."""
        sinks: list[EventSink] = []
        if events is not None:
            try:
                jsonl = open_jsonl_sink(events)
            except OSError as exc:
                raise click.BadParameter(
                    f"cannot open {events!r}: {exc.strerror or exc}", param_hint="--events"
                ) from None
            sinks.append(jsonl)
            self._closers.append(jsonl.close)
            if writes_to_stdout(events):
                self.stdout_reserved = True
                # Switch which standard stream the console follows (rich's `stderr` flag)
                # rather than pinning it to a stream object: a later invocation in the same
                # process (e.g. under CliRunner, which swaps sys.stdout) then follows its own.
                previous = _render.out.stderr
                _render.out.stderr = True
                self._closers.append(lambda: setattr(_render.out, "stderr", previous))
        if progress:
            bar = ProgressSink(err)
            coalesced = CoalescingSink(bar)
            sinks.append(coalesced)
            # Flush pending progress before the bar stops; closers run in reverse.
            self._closers.append(bar.close)
            self._closers.append(coalesced.close)
        if not sinks:
            return None
        return sinks[0] if len(sinks) == 1 else FanoutSink(*sinks)

    def close(self) -> None:
        """Flush and close event sinks (click calls this when the command ends)."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            close()

    def project(self) -> Project:
        if self.project_dir is not None:
            return Project(Path(os.path.abspath(self.project_dir)))
        return find_project()

    def service(self) -> PackerService:
        if self._service is None:
            try:
                project = self.project()
            except ProjectNotFound as exc:
                err.print(f"[red]error:[/] {exc}")
                raise SystemExit(2) from None
            cache = resolve_cache(
                project,
                self.cache_dir,
                disabled=self.no_cache,
                remote_url=self.remote_cache,
                remote_write=self.remote_cache_write,
            )
            self._service = PackerService(project, sink=self.sink, cache=cache)
            try:
                self._service.recover()
            except OSError as exc:  # e.g. a read-only checkout: reads still work
                err.print(
                    f"[yellow]warning:[/] could not finish an interrupted build or "
                    f"move: {exc.strerror or exc}"
                )
        return self._service


pass_ctx = click.make_pass_decorator(Ctx)


def _stdout_reserved() -> bool:
    current = click.get_current_context(silent=True)
    obj = current.find_object(Ctx) if current is not None else None
    return obj is not None and obj.stdout_reserved


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result model as JSON.")(
        f
    )


def emit(
    result: OperationResult, as_json: bool, render: Callable[[Any], None] | None = None
) -> None:
    """Print a result (JSON or human) and exit with its code."""
    if as_json:
        if _stdout_reserved():  # `--events jsonl` keeps stdout pure JSONL
            sys.stderr.write(result.model_dump_json(indent=2) + "\n")
        else:
            print_json(result)
    elif render is not None:
        render(result)
    else:
        print_result(result)
    raise SystemExit(exit_code(result))
