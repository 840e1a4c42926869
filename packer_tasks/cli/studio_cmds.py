"""`studio`: the project's Studio as a local web page (Starlette and uvicorn load only here,
so `--help` and every other command stay fast)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click

from .context import Ctx, pass_ctx
from .render import err, out

if TYPE_CHECKING:
    from ..events.sink import EventSink
    from ..service import PackerService


@click.command()
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in your browser.")
@pass_ctx
def studio(ctx: Ctx, port: int, open_browser: bool) -> None:
    """Serve the Studio (assets, actions, activity, pack wizard) on 127.0.0.1 until Ctrl-C."""
    from ..events.fanout import FanoutSink
    from ..service import PackerService
    from ..studio.server import StudioServer

    # The project, its cache settings and the recovery of an interrupted command, exactly
    # as every other command gets them; the Studio's own service shares them.
    base = ctx.service()
    extra = ctx.sink  # `--events`: the Studio's events are streamed there too

    def make_service(lane: EventSink) -> PackerService:
        sink = lane if extra is None else FanoutSink(lane, extra)
        return PackerService(base.project, sink=sink, cache=base.cache_config)

    try:
        server = StudioServer(base.project, port, make_service=make_service)
    except OSError as exc:
        err.print(
            f"[red]error:[/] cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; "
            "pass another --port (0 picks a free one)"
        )
        raise SystemExit(1) from None
    out.print(f"Studio for {base.project.root} at {server.url} (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutdown
        server.run()
    out.print("Studio stopped")


COMMANDS = [studio]
