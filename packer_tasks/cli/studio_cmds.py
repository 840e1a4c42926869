"""`studio`: the project's Studio as a local web page (Starlette and uvicorn load only here,
so `--help` and every other command stay fast)."""

from __future__ import annotations

import contextlib

import click

from ..workspace.project import ProjectNotFound
from ..workspace.settings import resolve_cache
from .context import Ctx, pass_ctx
from .render import err, out


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
    try:
        project = ctx.project()
    except ProjectNotFound as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None
    from ..studio.server import StudioServer

    cache = resolve_cache(project, ctx.cache_dir, disabled=ctx.no_cache)
    try:
        server = StudioServer(project, port, cache=cache)
    except OSError as exc:
        err.print(
            f"[red]error:[/] cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; "
            "pass another --port (0 picks a free one)"
        )
        raise SystemExit(1) from None
    out.print(f"Studio for {project.root} at {server.url} (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutdown
        server.run()
    out.print("Studio stopped")


COMMANDS = [studio]
