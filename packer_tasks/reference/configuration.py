"""The configuration page: the `[tool.prometeu-packer]` keys the settings module declares,
every `PROMETEU_*` variable the source reads, and the global flags of the CLI."""

from __future__ import annotations

import ast
import re
from collections import defaultdict

import click

from ..cli import cli as root_command
from ..workspace import project as project_module
from ..workspace import settings
from . import markdown as md
from .source import Source, string_constants

ENV_RE = re.compile(r"PROMETEU_[A-Z0-9_]*[A-Z0-9]")
SETTINGS_MODULE = "packer_tasks/workspace/settings.py"
UNDESCRIBED = "(not described yet: see the source)"

# Words for each key and variable; the lists themselves come from the code.
KEY_NOTES = {
    "cache-dir": "local cache folder, relative to the project root",
    "cache-size-limit": "local cache size limit in bytes (eviction keeps it below)",
    "remote-cache": "base URL of a shared HTTP remote cache (read only unless written to)",
    "remote-cache-write": "`true` lets builds upload to the remote cache",
}
ENV_NOTES = {
    "PROMETEU_PACKER_CACHE": "local cache folder (beats pyproject.toml, loses to `--cache-dir`)",
    "PROMETEU_PACKER_EVENTS": "doit runs: `jsonl` streams events to stdout, else a file path",
    "PROMETEU_PACKER_DEBUG": "any value: print the traceback of an internal error",
    "PROMETEU_PACKER_CRASH_AT": "tests only: crash a pack at a named publication point",
    "PROMETEU_PACKER_REMOTE_CACHE": "remote cache base URL",
    "PROMETEU_PACKER_REMOTE_CACHE_WRITE": "`1`/`true`/`yes`/`on` enables uploads",
    "PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT": "seconds one remote request may take",
    "PROMETEU_PACKER_JOBS": "worker processes that decode inputs (default: the usable cores)",
    "PROMETEU_PACKER_REMOTE_CACHE_TOKEN": "bearer token for the remote cache",
    "PROMETEU_PACKER_REMOTE_CACHE_USER": "basic-auth user for the remote cache",
    "PROMETEU_PACKER_REMOTE_CACHE_PASSWORD": "basic-auth password for the remote cache",
}


def declared_keys(src: Source) -> dict[str, str]:
    """key → type name, from the settings module's declared table when it has one, else
    from the string keys it looks up with `.get("some-key")`."""
    known = getattr(settings, "KNOWN_KEYS", None)
    if isinstance(known, dict):
        return {str(k): getattr(v, "__name__", str(v)) for k, v in sorted(known.items())}
    found: dict[str, str] = {}
    for module in src.modules:
        if module.name != SETTINGS_MODULE:
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and "-" in node.args[0].value
                and node.args[0].value != "prometeu-packer"
            ):
                found[node.args[0].value] = "(see the source)"
    return dict(sorted(found.items()))


def environment_variables(src: Source) -> dict[str, list[str]]:
    """Every `PROMETEU_…` name the package's source mentions → the modules mentioning it."""
    found: dict[str, set[str]] = defaultdict(set)
    for module in src.modules:
        for text in string_constants(module):
            for name in ENV_RE.findall(text):
                found[name].add(module.name)
    return {name: sorted(where) for name, where in sorted(found.items())}


def render(src: Source) -> str:
    sections = [_keys(src), _variables(src), _flags(), _precedence(src)]
    intro = (
        "The packer reads settings from three places: command-line flags, environment "
        "variables, and a `[tool.prometeu-packer]` table in the game's `pyproject.toml` "
        "(next to `assets/`). The lists below are read from the code: the keys from the "
        "settings module's declared table, the variables from every `PROMETEU_…` name in "
        "the source, the flags from the CLI. The short descriptions are written by hand; a "
        f"new key or variable shows up here marked {UNDESCRIBED!r} until it gets one."
    )
    return md.page("Configuration", intro, sections)


def _keys(src: Source) -> str:
    keys = declared_keys(src)
    rows = [(md.code(key), kind, KEY_NOTES.get(key, UNDESCRIBED)) for key, kind in keys.items()]
    example = "[tool.prometeu-packer]\n" + "\n".join(
        f"{key} = {value}"
        for key, value in (
            ("cache-dir", '".prometeu-cache"'),
            ("cache-size-limit", str(settings.DEFAULT_SIZE_LIMIT)),
        )
        if key in keys
    )
    return (
        "## `[tool.prometeu-packer]` keys\n\n"
        + md.table(["key", "type", "meaning"], rows)
        + "\n\nAn unknown key, a value of the wrong type, or a `pyproject.toml` that is not "
        "valid TOML is reported as a warning and ignored; it never stops a build. Defaults: "
        f"cache folder {md.code(project_module.DEFAULT_CACHE_DIR + '/')}, size limit "
        f"{settings.DEFAULT_SIZE_LIMIT} bytes.\n\n" + md.fenced(example, "toml")
    )


def _variables(src: Source) -> str:
    rows = [
        (md.code(name), ENV_NOTES.get(name, UNDESCRIBED), ", ".join(md.code(w) for w in where))
        for name, where in environment_variables(src).items()
    ]
    return "## Environment variables\n\n" + md.table(["variable", "meaning", "read in"], rows)


def _flags() -> str:
    ctx = click.Context(root_command, info_name="prometeu-packer")
    rows = []
    for param in root_command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden or "--help" in param.opts:
            continue
        names = ", ".join(md.code(n) for n in [*param.opts, *param.secondary_opts])
        rows.append((names, param.help or ""))
    return (
        "## Global flags\n\n"
        "They can always be given before the command (`prometeu-packer --no-cache pack`); "
        "every command's own "
        "options are in the [command-line reference](cli.md).\n\n"
        + md.table(["flag", "meaning"], rows)
    )


def _precedence(src: Source) -> str:
    tree = src.tree(SETTINGS_MODULE)
    doc = (ast.get_docstring(tree) or "") if tree is not None else ""
    return (
        "## Precedence\n\n"
        "For a value (the cache folder, the remote cache URL) a flag beats an environment "
        "variable, which beats `pyproject.toml`, which beats the default. A switch that "
        "turns something on (remote writes) is on when any of the three says so. "
        "`--no-cache` turns the cache off whatever else is set. In the settings module's "
        "own words:\n\n"
        + "\n".join(f"> {line}" if line else ">" for line in md.scrub(doc).splitlines())
    )
