"""What every command shares: the project, the service, `--json`, and error handling.

Heavy modules (the service, pydantic models, the event sinks) load inside the functions
that need them, so `--help` and shell completion stay quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..events.sink import EventSink
    from ..models.results import OperationResult
    from ..service import PackerService
    from ..workspace.project import Project

# Commands that show a live progress bar when stderr is a terminal.
PROGRESS_COMMANDS = frozenset({"pack"})

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """Per-invocation state: the global options (given before or after the command) and,
    built on first use, the event sink and the service."""

    def __init__(
        self,
        project_dir: Path | None,
        *,
        events: str | None = None,
        command: str | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.events = events
        self.command = command
        self.interactive = interactive
        self.cache_dir: Path | None = None
        self.no_cache = False
        self.remote_cache: str | None = None  # --remote-cache URL
        self.remote_cache_write = False
        self.verbose = False
        self._service: PackerService | None = None
        self._closers: list[Callable[[], None]] = []
        self._sink: EventSink | None = None
        self._sink_built = False
        # True when `--events jsonl` owns stdout: human output and `--json` go to stderr.
        self._stdout_reserved = False

    @property
    def sink(self) -> EventSink | None:
        """The event wiring, built once the options are all known (after the command's own)."""
        if not self._sink_built:
            from .render import err

            self._sink_built = True
            interactive = err.is_terminal if self.interactive is None else self.interactive
            self._sink = self._build_sink(
                self.events, progress=interactive and self.command in PROGRESS_COMMANDS
            )
        return self._sink

    @property
    def stdout_reserved(self) -> bool:
        _ = self.sink
        return self._stdout_reserved

    def _build_sink(self, events: str | None, *, progress: bool) -> EventSink | None:
        """The default event wiring: raw JSONL for tools and/or a progress bar for people."""
        from ..events.coalesce import CoalescingSink
        from ..events.fanout import FanoutSink
        from ..events.jsonl import open_jsonl_sink, writes_to_stdout
        from ..events.terminal import ProgressSink
        from . import render as _render

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
                self._stdout_reserved = True
                # Switch which standard stream the console follows (rich's `stderr` flag)
                # rather than pinning it to a stream object: a later invocation in the same
                # process (e.g. under CliRunner, which swaps sys.stdout) then follows its own.
                previous = _render.out.stderr
                _render.out.stderr = True
                self._closers.append(lambda: setattr(_render.out, "stderr", previous))
        if progress:
            bar = ProgressSink(_render.err, verbose=self.verbose, finish_line=False)
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
        """The project of `--project` (which must be one), or the nearest one up."""
        from ..workspace.project import find_project, open_project

        if self.project_dir is not None:
            return open_project(Path(os.path.abspath(self.project_dir)))
        return find_project()

    def service(self) -> PackerService:
        if self._service is None:
            from ..service import PackerService
            from ..workspace.project import ProjectNotFound
            from ..workspace.settings import resolve_cache
            from .render import err

            try:
                project = self.project()
            except ProjectNotFound as exc:
                err.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
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


def store_option(ctx: click.Context, name: str, value: Any) -> None:
    """A global option given after the command: it wins over the one before it."""
    obj = ctx.find_object(Ctx)
    if obj is not None:
        setattr(obj, name, value)


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
    from .render import exit_code, print_json, print_result

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
