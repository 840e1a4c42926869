"""`watch`: keep build/assets.pa current while you edit."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING

import click

from .context import Ctx, pass_ctx
from .humanize import words

if TYPE_CHECKING:
    from ..models.results import PackResult


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


@click.command()
@click.option("--debounce", default=300, show_default=True, help="Milliseconds to settle.")
@pass_ctx
def watch(ctx: Ctx, debounce: int) -> None:
    """Pack now, then re-pack whenever a file an asset declares changes (Ctrl-C to stop)."""
    from ..service.watch import watch as watch_loop
    from .build_cmds import pack_line
    from .render import out, print_diagnostics, print_result

    service = ctx.service()
    project = service.project
    out.print(
        f"watching {project.assets_dir} (registered assets only); packing into "
        f"{project.build_dir / 'assets.pa'}. Ctrl-C to stop.",
        markup=False,
    )
    pending: list[str] = []

    def changed(paths: list[str]) -> None:
        pending[:] = paths

    def show(result: PackResult) -> None:
        why = f" after {words(pending[:5])} changed" + (" …" if len(pending) > 5 else "")
        line = pack_line(result)
        if line is not None:
            out.print(f"[{_stamp()}] {line}{why if pending else ''}", markup=False)
            print_diagnostics(result.diagnostics)
        else:
            out.print(f"[{_stamp()}]{why if pending else ''}", markup=False)
            print_result(result)
        pending.clear()

    with contextlib.suppress(KeyboardInterrupt):
        watch_loop(service, on_result=show, debounce_ms=debounce, on_change=changed)
    out.print(f"[{_stamp()}] stopped watching; build/ holds the last complete build")
    raise SystemExit(130)  # watch only ends on Ctrl-C


COMMANDS = [watch]
