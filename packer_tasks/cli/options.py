"""Global options, defined once: the group takes them before the command and every command
takes the same options after it (`pack --events jsonl`, `pack --no-cache`). A value given
after the command wins over one given before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

# (declarations, settings) per global option; the attribute of Ctx is the option's name.
_SPECS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--project", "project_dir"),
        {
            "type": click.Path(file_okay=False, path_type=Path),
            "help": "Project folder (default: found from the current folder up).",
        },
    ),
    (
        ("--events", "events"),
        {
            "metavar": "jsonl|FILE",
            "help": "Stream raw event envelopes as JSON lines: `jsonl` (or `-`) to stdout, "
            "with human output moved to stderr; anything else is a file to write.",
        },
    ),
    (
        ("--cache-dir", "cache_dir"),
        {
            "type": click.Path(file_okay=False, path_type=Path),
            "help": "Cache directory (default: $PROMETEU_PACKER_CACHE, then "
            "[tool.prometeu-packer] cache-dir, then .prometeu-cache/).",
        },
    ),
    (
        ("--no-cache", "no_cache"),
        {"is_flag": True, "help": "Materialize everything; read and write no cache."},
    ),
    (
        ("--remote-cache", "remote_cache"),
        {
            "metavar": "URL",
            "help": "Shared remote cache (Bazel HTTP layout; default: "
            "$PROMETEU_PACKER_REMOTE_CACHE, then [tool.prometeu-packer] remote-cache). "
            "Read-only unless --remote-cache-write.",
        },
    ),
    (
        ("--remote-cache-write", "remote_cache_write"),
        {"is_flag": True, "help": "Also upload to the remote cache (trusted builds only)."},
    ),
    (
        ("-v", "--verbose", "verbose"),
        {"is_flag": True, "help": "Also print one line per asset the pack materializes anew."},
    ),
)

GLOBAL_NAMES = tuple(decls[-1] for decls, _ in _SPECS)


def group_options() -> list[click.Option]:
    """The options as the group takes them (passed to its callback)."""
    return [click.Option(list(decls), **settings) for decls, settings in _SPECS]


def command_options(store: Callable[[click.Context, str, Any], None]) -> list[click.Option]:
    """Fresh copies for one command: not passed to it, but handed to `store` when given."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and value is not False and param.name is not None:
            store(ctx, param.name, value)
        return value

    return [
        click.Option(list(decls), expose_value=False, callback=callback, **settings)
        for decls, settings in _SPECS
    ]
