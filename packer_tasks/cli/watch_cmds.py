"""`watch`: keep build/assets.pa current while you edit."""

from __future__ import annotations

import click

from ..models.results import PackResult
from ..service.watch import watch as watch_loop
from .context import Ctx, pass_ctx
from .render import print_result


@click.command()
@click.option("--debounce", default=300, show_default=True, help="Milliseconds to settle.")
@pass_ctx
def watch(ctx: Ctx, debounce: int) -> None:
    """Pack now, then re-pack whenever assets change (Ctrl-C to stop)."""

    def show(result: PackResult) -> None:
        print_result(result)

    watch_loop(ctx.service(), on_result=show, debounce_ms=debounce)


COMMANDS = [watch]
