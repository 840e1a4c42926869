"""The `prometeu-packer` command line: a thin click layer over PackerService."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from ..workspace.lane import LaneBusy
from .build_cmds import COMMANDS as BUILD_COMMANDS
from .cache_cmds import COMMANDS as CACHE_COMMANDS
from .context import Ctx
from .doctor_cmds import COMMANDS as DOCTOR_COMMANDS
from .render import err
from .studio_cmds import COMMANDS as STUDIO_COMMANDS
from .watch_cmds import COMMANDS as WATCH_COMMANDS
from .workspace_cmds import COMMANDS as WORKSPACE_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: found from the current folder up).",
)
@click.option(
    "--events",
    "events",
    metavar="jsonl|FILE",
    default=None,
    help="Stream raw event envelopes as JSON lines: `jsonl` (or `-`) to stdout, "
    "with human output moved to stderr; anything else is a file to write.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar=None,
    help="Cache directory (default: $PROMETEU_PACKER_CACHE, then "
    "[tool.prometeu-packer] cache-dir, then .prometeu-cache/).",
)
@click.option("--no-cache", is_flag=True, help="Materialize everything; read and write no cache.")
@click.option(
    "--remote-cache",
    metavar="URL",
    default=None,
    help="Shared remote cache (Bazel HTTP layout; default: $PROMETEU_PACKER_REMOTE_CACHE, "
    "then [tool.prometeu-packer] remote-cache). Read-only unless --remote-cache-write.",
)
@click.option(
    "--remote-cache-write",
    is_flag=True,
    help="Also upload to the remote cache (trusted builds only).",
)
@click.version_option(package_name="prometeu-packer")
@click.pass_context
def cli(
    ctx: click.Context,
    project_dir: Path | None,
    events: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    remote_cache: str | None,
    remote_cache_write: bool,
) -> None:
    """Validate PROMETEU game assets and pack them into build/assets.pa."""
    ctx.obj = Ctx(project_dir, events=events, command=ctx.invoked_subcommand)
    ctx.obj.cache_dir, ctx.obj.no_cache = cache_dir, no_cache
    ctx.obj.remote_cache, ctx.obj.remote_cache_write = remote_cache, remote_cache_write
    ctx.call_on_close(ctx.obj.close)


for _cmd in [
    *WORKSPACE_COMMANDS,
    *BUILD_COMMANDS,
    *CACHE_COMMANDS,
    *WATCH_COMMANDS,
    *DOCTOR_COMMANDS,
    *STUDIO_COMMANDS,
]:
    cli.add_command(_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors exit 2; Ctrl-C exits 130 with one line (a pack that was
    publishing finishes its renames first, so build/ holds a complete set); an unexpected
    bug prints one line, not a traceback."""
    try:
        code = cli.main(args=argv, prog_name="prometeu-packer", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        err.print("[yellow]interrupted[/]: build/ holds the last complete build")
        sys.exit(130)
    except LaneBusy as exc:
        err.print(f"[red]error:[/] {exc}; try again when the other packer command finishes")
        sys.exit(1)
    except Exception as exc:  # a bug, not bad input: say so plainly
        if os.environ.get("PROMETEU_PACKER_DEBUG"):
            traceback.print_exc()
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc} "
            "(set PROMETEU_PACKER_DEBUG=1 for details and report it)"
        )
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)
