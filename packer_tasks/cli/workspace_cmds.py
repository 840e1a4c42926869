"""Workspace and registry commands: init, new, register, include/exclude, relocate, remove."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import click

from .complete import FAMILY_NAMES, SETTING_NAMES, complete_asset, complete_family
from .context import Ctx, emit, json_option, pass_ctx
from .humanize import words


@click.command()
@json_option
@pass_ctx
def init(ctx: Ctx, as_json: bool) -> None:
    """Create assets/.prometeu/index.json here (or in --project). Safe to run twice."""
    from ..service import PackerService
    from ..workspace.project import Project, nested_in_assets

    root = Path(os.path.abspath(ctx.project_dir or Path.cwd()))
    holder = nested_in_assets(root)
    if holder is not None:
        raise click.UsageError(
            f"{root} is inside the assets/ folder of the project at {holder}; "
            "a project cannot start there"
        )
    service = PackerService(Project(root), sink=ctx.sink)
    emit(service.init_workspace(), as_json)


def _check_family(family: str, tile_size: str | None) -> None:
    """Usage errors (exit 2) before any work: an unknown family, an option it does not take."""
    if family not in FAMILY_NAMES:
        close = difflib.get_close_matches(family, FAMILY_NAMES, n=1)
        mean = f"; did you mean {close[0]}?" if close else ""
        raise click.BadParameter(
            f"unknown family {family!r}: choose {words(list(FAMILY_NAMES), 'or')}{mean}",
            param_hint="FAMILY",
        )
    if tile_size is not None and family != "glyph_bank":
        raise click.UsageError(f"--tile-size applies to glyph_bank only, not to {family}")


@click.command("new")
@click.argument("family", shell_complete=complete_family)
@click.argument("root")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--tile-size",
    type=click.Choice(["8", "16", "32"]),
    default=None,
    help="glyph_bank: tile size in pixels (default 16).",
)
@click.option("--name", default=None, help="Label (defaults to the root's last folder).")
@click.option("--preload/--no-preload", default=False, help="Preload at boot.")
@click.option("--slot", type=click.IntRange(0, 15), default=None, help="Explicit preload slot.")
@click.option("--exclude", is_flag=True, help="Register but keep out of the build.")
@click.option("--force", is_flag=True, help="Register even what would block the pack.")
@json_option
@pass_ctx
def new(
    ctx: Ctx,
    family: str,
    root: str,
    files: tuple[Path, ...],
    tile_size: str | None,
    name: str | None,
    preload: bool,
    slot: int | None,
    exclude: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Scaffold and register a new asset from FILES (artifacts in the order given).

    The files meet the same checks as `validate`; what would block the pack is refused
    unless --force.

    Example: prometeu-packer new glyph_bank ui/hud --tile-size 16 heart.png coin.png
    """
    _check_family(family, tile_size)
    options: dict[str, Any] = {}
    if tile_size is not None:
        options["tile_size"] = int(tile_size)
    result = ctx.service().create_asset(
        family,
        root,
        list(files),
        options,
        include=not exclude,
        preload=preload or slot is not None,
        slot=slot,
        name=name,
        force=force,
    )
    emit(result, as_json)


def _register(ctx: Ctx, root: str, exclude: bool, as_json: bool) -> None:
    emit(ctx.service().register_asset(root, include=not exclude), as_json)


@click.command()
@click.argument("root")
@click.option("--exclude", is_flag=True, help="Register but keep out of the build.")
@json_option
@pass_ctx
def register(ctx: Ctx, root: str, exclude: bool, as_json: bool) -> None:
    """Register an existing asset root (gets a new, never-reused asset_id)."""
    _register(ctx, root, exclude, as_json)


@click.command()
@click.argument("root")
@click.option(
    "--family",
    type=click.Choice(list(FAMILY_NAMES)),
    default=None,
    help="glyph_bank or sound_bank (default: guessed from the files).",
)
@click.option(
    "--order",
    default=None,
    metavar="A.png,B.png",
    help="Artifact order, comma-separated (default: sorted by name).",
)
@click.option(
    "--tile-size",
    type=click.Choice(["8", "16", "32"]),
    default=None,
    help="glyph_bank: tile size (default: the first tile's width).",
)
@click.option("--exclude", is_flag=True, help="Register but keep out of the build.")
@click.option("--force", is_flag=True, help="Register even what would block the pack.")
@json_option
@pass_ctx
def adopt(
    ctx: Ctx,
    root: str,
    family: str | None,
    order: str | None,
    tile_size: str | None,
    exclude: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Adopt art already under assets/ROOT: write asset.json for its PNG or WAV files (or
    take the one there) and register it, with the same checks as `new`.

    Example: prometeu-packer adopt ui/icons --order heart.png,coin.png
    """
    from ..service.edit_ops import AdoptRequest

    if tile_size is not None and family == "sound_bank":
        raise click.UsageError("--tile-size applies to glyph_bank only")
    request = AdoptRequest(
        root,
        family=family,
        order=[n.strip() for n in order.split(",") if n.strip()] if order else None,
        tile_size=int(tile_size) if tile_size else None,
        include=not exclude,
        force=force,
    )
    emit(ctx.service().adopt_root(request), as_json)


SET_HELP = """Change one setting of ASSET (preview; --yes applies). Same checks as `new`.

\b
  tile-size 8|16|32              glyph_bank tile size
  palette #000000 #ff0044 …      palette 0 from colours, or from an image: palette art.png
  palette derive                 no declared palette (derived from the tiles)
  preload on|off [--slot N]      preload at boot, optionally in slot N (0-15)
  loop SAMPLE START END          sound_bank loop points in frames; loop SAMPLE off
  order a.png,b.png,…            artifact order (every artifact once)
  add FILE…                      copy files in as new artifacts (at the end)
  remove FILE…                   drop artifacts (the files stay on disk)
  name LABEL                     the asset's label
"""


@click.command("set", help=SET_HELP)
@click.argument("asset", shell_complete=complete_asset)
@click.argument("key", metavar="KEY", type=click.Choice(list(SETTING_NAMES)))
@click.argument("values", nargs=-1)
@click.option("--slot", type=click.IntRange(0, 15), default=None, help="With preload on.")
@click.option("--yes", is_flag=True, help="Apply the change (otherwise only preview it).")
@click.option("--force", is_flag=True, help="Apply even what would block the pack.")
@json_option
@pass_ctx
def set_(
    ctx: Ctx,
    asset: str,
    key: str,
    values: tuple[str, ...],
    slot: int | None,
    yes: bool,
    force: bool,
    as_json: bool,
) -> None:
    result = ctx.service().set_asset(asset, key, list(values), slot=slot, apply=yes, force=force)
    emit(result, as_json)


@click.command()
@click.argument("asset", shell_complete=complete_asset)
@json_option
@pass_ctx
def include(ctx: Ctx, asset: str, as_json: bool) -> None:
    """Put ASSET (id or root) back into the build set."""
    emit(ctx.service().include_asset_in_build(asset), as_json)


@click.command()
@click.argument("asset", shell_complete=complete_asset)
@json_option
@pass_ctx
def exclude(ctx: Ctx, asset: str, as_json: bool) -> None:
    """Keep ASSET (id or root) out of the build without losing its identity."""
    emit(ctx.service().exclude_asset_from_build(asset), as_json)


@click.command()
@click.argument("asset", shell_complete=complete_asset)
@click.argument("new_root")
@click.option("--yes", is_flag=True, help="Apply the move (otherwise only preview it).")
@json_option
@pass_ctx
def relocate(ctx: Ctx, asset: str, new_root: str, yes: bool, as_json: bool) -> None:
    """Move ASSET's folder to NEW_ROOT, keeping asset_id and asset_uuid."""
    emit(ctx.service().relocate_asset(asset, new_root, apply=yes), as_json)


@click.command()
@click.argument("asset", shell_complete=complete_asset)
@click.option("--delete-files", is_flag=True, help="Also delete the asset folder.")
@click.option("--yes", is_flag=True, help="Consent to deleting files.")
@json_option
@pass_ctx
def remove(ctx: Ctx, asset: str, delete_files: bool, yes: bool, as_json: bool) -> None:
    """Unregister ASSET (its id is retired). Files stay unless --delete-files --yes."""
    emit(
        ctx.service().remove_asset(asset, delete_files=delete_files, apply=yes or not delete_files),
        as_json,
    )


@click.command("list")
@click.option(
    "--quick",
    is_flag=True,
    help="Read declarations only; do not check the files' contents (rows say `unchecked`).",
)
@json_option
@pass_ctx
def list_(ctx: Ctx, quick: bool, as_json: bool) -> None:
    """List registered, unregistered and quarantined assets with what `validate` says."""
    from .workspace_views import render_list

    emit(ctx.service().list_assets(check=not quick), as_json, render_list)


@click.command()
@click.argument("asset", shell_complete=complete_asset)
@json_option
@pass_ctx
def show(ctx: Ctx, asset: str, as_json: bool) -> None:
    """Details of ASSET (id or root) with what `validate` says of it (exit 1 if it blocks)."""
    from .workspace_views import render_details

    emit(ctx.service().get_asset_details(asset), as_json, render_details)


@click.command()
@click.argument("which", type=click.Choice(["asset", "registry"]))
@click.option(
    "--family",
    type=click.Choice(list(FAMILY_NAMES)),
    default=None,
    help="asset: the schema of one family only (default: any family, by its `type`).",
)
def schema(which: str, family: str | None) -> None:
    """Print the JSON Schema of asset.json or the registry, for editors.

    Save it beside your project and point your editor at it, e.g. VS Code's
    `json.schemas` with `"fileMatch": ["assets/**/asset.json"]`; or add
    `"$schema": "<path or URL>"` to a file.
    """
    from ..models.json_schemas import asset_schema, registry_schema

    if family is not None and which != "asset":
        raise click.UsageError("--family goes with `schema asset`")
    document = asset_schema(family) if which == "asset" else registry_schema()
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


COMMANDS = [
    init,
    new,
    register,
    adopt,
    set_,
    include,
    exclude,
    relocate,
    remove,
    list_,
    show,
    schema,
]
__all__ = ["COMMANDS"]
