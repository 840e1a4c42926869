"""The `prometeu-packer` command line: a thin click layer over PackerService.

Commands load lazily: `--help` lists them from the table below without importing any, and
a command imports its module (and the service, pydantic, Pillow, …) only when it runs, so
help and shell completion stay quick.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from .context import Ctx, store_option
from .options import command_options, group_options

# name -> (module under packer_tasks.cli, attribute, one-line help for the listing)
COMMAND_TABLE: dict[str, tuple[str, str, str]] = {
    "init": ("workspace_cmds", "init", "Create the registry, dodo.py and .gitignore rules."),
    "new": ("workspace_cmds", "new", "Scaffold and register a new asset from files."),
    "adopt": ("workspace_cmds", "adopt", "Write asset.json for art already under assets/."),
    "register": ("workspace_cmds", "register", "Register a root that has an asset.json."),
    "set": ("workspace_cmds", "set_", "Change an asset's settings (preview; --yes applies)."),
    "include": ("workspace_cmds", "include", "Put an asset back into the build set."),
    "exclude": ("workspace_cmds", "exclude", "Keep an asset out of the build, ids kept."),
    "relocate": ("workspace_cmds", "relocate", "Move an asset's folder, ids kept."),
    "remove": ("workspace_cmds", "remove", "Unregister an asset (its id is retired)."),
    "list": ("workspace_cmds", "list_", "Every asset with what `validate` says of it."),
    "show": ("workspace_cmds", "show", "One asset: settings, inputs, problems."),
    "schema": ("workspace_cmds", "schema", "JSON Schema of asset.json or the registry."),
    "pack": ("build_cmds", "pack", "Pack the build set into build/assets.pa."),
    "validate": ("build_cmds", "validate", "The pack gate (exit 1 if anything blocks)."),
    "summary": ("build_cmds", "summary", "The build set at a glance (fast)."),
    "inspect": ("build_cmds", "inspect", "Check an assets.pa; --extract to look at it."),
    "explain": ("cache_cmds", "explain", "Why would an asset rebuild?"),
    "cache": ("cache_cmds", "cache", "Cache stats, verify, prune, clear."),
    "watch": ("watch_cmds", "watch", "Re-pack whenever assets change."),
    "doctor": ("doctor_cmds", "doctor", "Diagnose the project; --fix previews safe fixes."),
    "quarantine": ("doctor_cmds", "quarantine", "Move an asset aside, reversibly."),
    "restore": ("doctor_cmds", "restore", "Bring a quarantined asset back."),
    "studio": ("studio_cmds", "studio", "Serve the Studio page on 127.0.0.1."),
}


def _with_global_options(cmd: click.Command) -> click.Command:
    """Every command (and every command of a sub-group) takes the global options too."""
    if not getattr(cmd, "_prometeu_globals", False):
        cmd.params.extend(command_options(store_option))
        cmd._prometeu_globals = True  # type: ignore[attr-defined]
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _with_global_options(sub)
    return cmd


class PackerGroup(click.Group):
    """Loads a command's module when that command is used; lists them without loading."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_TABLE, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = self.commands.get(cmd_name)
        if cmd is None and cmd_name in COMMAND_TABLE:
            module, attr, _ = COMMAND_TABLE[cmd_name]
            cmd = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            self.commands[cmd_name] = cmd
        return _with_global_options(cmd) if cmd is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMAND_TABLE[name][2]) for name in sorted(COMMAND_TABLE)]
        rows += [
            (name, cmd.get_short_help_str())
            for name, cmd in sorted(self.commands.items())
            if name not in COMMAND_TABLE
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _start(ctx: click.Context, **options: Any) -> None:
    """Validate PROMETEU game assets and pack them into build/assets.pa.

    Global options work before or after the command (`prometeu-packer pack --no-cache`).
    """
    obj = Ctx(options.pop("project_dir"), events=options.pop("events"))
    obj.command = ctx.invoked_subcommand
    for name, value in options.items():
        setattr(obj, name, value)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


cli = PackerGroup(
    name="prometeu-packer",
    callback=click.pass_context(_start),
    params=group_options(),
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_start.__doc__,
)
cli = click.version_option(package_name="prometeu-packer")(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors exit 2; Ctrl-C exits 130 with one line (a pack that was
    publishing finishes its renames first, so build/ holds a complete set); an unexpected
    bug prints one line, not a traceback."""
    from ..workspace.lane import LaneBusy

    try:
        code = cli.main(args=argv, prog_name="prometeu-packer", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _say(f"[yellow]interrupted[/]: {_what_stands(argv)}")
        sys.exit(130)
    except LaneBusy as exc:
        _say(f"[red]error:[/] {exc}; try again when the other packer command finishes")
        sys.exit(1)
    except Exception as exc:  # a bug, not bad input: say so plainly
        if os.environ.get("PROMETEU_PACKER_DEBUG"):
            traceback.print_exc()
        _say(
            f"[red]internal error:[/] {type(exc).__name__}: {exc} "
            "(set PROMETEU_PACKER_DEBUG=1 for details and report it)"
        )
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)


def _what_stands(argv: list[str] | None) -> str:
    """The one line after Ctrl-C: what the person can rely on now."""
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if w in COMMAND_TABLE), None)
    if command in ("pack", "watch", "studio"):
        return "build/ holds the last complete build"
    return "nothing was left half-done (every change is all or nothing)"


def _say(text: str) -> None:
    from .render import err

    err.print(text)
