"""The CLI page: every command found by walking the click group, so a command added by
anyone appears here with its usage, options and help, without a list to keep."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Iterator

import click

from ..cli import cli as root_command
from . import markdown as md

PROGRAM = "prometeu-packer"


def walk(
    command: click.Command, ctx: click.Context
) -> Iterator[tuple[click.Command, click.Context]]:
    """The command and every visible subcommand below it, depth first, by name."""
    yield command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from walk(sub, click.Context(sub, info_name=name, parent=ctx))


def anchor(ctx: click.Context) -> str:
    return ctx.command_path.replace(" ", "-").lower()


def render() -> str:
    root_ctx = click.Context(root_command, info_name=PROGRAM)
    found = list(walk(root_command, root_ctx))
    sections = [_index(found[1:]), _exit_codes()]
    sections += [_command(cmd, ctx) for cmd, ctx in found]
    intro = (
        f"Generated from the click commands of `{PROGRAM}` (the same text `--help` prints). "
        "Every command takes `-h`/`--help`; the global options (those of "
        f"[`{PROGRAM}`](#{PROGRAM}) itself) can always be given before the command name "
        f"(`{PROGRAM} --project ../game pack`). Most commands take `--json` and then print "
        "their result model instead of human text."
    )
    return md.page("Command-line reference", intro, sections)


def _index(found: list[tuple[click.Command, click.Context]]) -> str:
    rows = [
        (f"[{md.code(ctx.command_path)}](#{anchor(ctx)})", cmd.get_short_help_str(limit=120))
        for cmd, ctx in found
    ]
    return "## Commands\n\n" + md.table(["command", "what it does"], rows)


def _exit_codes() -> str:
    # Written by hand from packer_tasks/cli/__init__.py `main` (not introspectable).
    rows = [
        ("0", "success, or a preview that changed nothing"),
        ("1", "something blocks or failed (a blocking diagnostic, a busy project)"),
        ("2", "usage error (unknown option, missing argument, no project found)"),
        ("3", "internal error: a bug; set `PROMETEU_PACKER_DEBUG=1` for the traceback"),
        ("130", "interrupted (Ctrl-C); `build/` still holds one complete set"),
    ]
    return "## Exit codes\n\n" + md.table(["code", "meaning"], rows)


def _global_names(ctx: click.Context) -> frozenset[tuple[str, ...]]:
    """The option names of the root group: repeated on subcommands, listed only once."""
    root = ctx.find_root()
    return frozenset(
        tuple(p.opts)
        for p in root.command.get_params(root)
        if isinstance(p, click.Option) and not _is_help(p, root)
    )


def _command(cmd: click.Command, ctx: click.Context) -> str:
    usage = " ".join([ctx.command_path, *cmd.collect_usage_pieces(ctx)])
    parts = [f"## {ctx.command_path}", md.fenced(usage, "text"), _help_text(cmd)]
    params = [p for p in cmd.get_params(ctx) if not _is_help(p, ctx)]
    arguments = [p for p in params if isinstance(p, click.Argument)]
    options = [p for p in params if isinstance(p, click.Option) and not p.hidden]
    if ctx.parent is not None:
        shared = _global_names(ctx)
        local = [o for o in options if tuple(o.opts) not in shared]
        if len(local) < len(options):
            parts.append(f"Also takes the [global options](#{anchor(ctx.find_root())}).")
        options = local
    if arguments:
        parts.append(
            "Arguments:\n\n"
            + md.table(
                ["argument", "required", "takes"], map(_arg_row, arguments, [ctx] * len(arguments))
            )
        )
    if options:
        rows = [_option_row(o, ctx) for o in options]
        parts.append("Options:\n\n" + md.table(["option", "takes", "default", "help"], rows))
    if isinstance(cmd, click.Group):
        subs = ", ".join(
            f"[{name}](#{anchor(ctx)}-{name})" for name in sorted(cmd.list_commands(ctx))
        )
        parts.append(f"Subcommands: {subs}.")
    return "\n\n".join(p for p in parts if p)


def _help_text(cmd: click.Command) -> str:
    text = inspect.cleandoc(cmd.help or "")
    lines = [line for line in text.splitlines() if line.strip() != "\b"]
    return "\n".join(lines).strip()


def _is_help(param: click.Parameter, ctx: click.Context) -> bool:
    return param.name == "help" or (
        isinstance(param, click.Option) and "--help" in param.opts and param.is_eager
    )


def _arg_row(arg: click.Argument, ctx: click.Context) -> tuple[str, str, str]:
    many = " (one or more)" if arg.nargs == -1 and arg.required else ""
    many = many or (" (any number)" if arg.nargs == -1 else "")
    return (
        md.code(arg.human_readable_name),
        "yes" if arg.required else "no",
        _takes(arg, ctx) + many,
    )


def _option_row(opt: click.Option, ctx: click.Context) -> tuple[str, str, str, str]:
    names = ", ".join(md.code(n) for n in [*opt.opts, *opt.secondary_opts])
    takes = "flag" if opt.is_flag else _takes(opt, ctx)
    if opt.multiple:
        takes += " (repeatable)"
    default = ""
    if not opt.is_flag and _shown_default(opt.default):
        default = md.code(opt.default)
    help_text = opt.help or ""
    if opt.envvar:
        help_text += f" (env: {opt.envvar})"
    return names, takes, default, help_text


def _shown_default(value: object) -> bool:
    """A default worth printing: not None, not computed, not click's "not given" marker."""
    unset = isinstance(value, enum.Enum) and value.name == "UNSET"
    return value is not None and not callable(value) and not unset


def _takes(param: click.Parameter, ctx: click.Context) -> str:
    kind = param.type
    if isinstance(kind, click.Choice):
        return "one of " + ", ".join(md.code(c) for c in kind.choices)
    if isinstance(param, click.Option) and param.metavar:
        return md.code(param.metavar)
    return md.code(kind.name.upper())
