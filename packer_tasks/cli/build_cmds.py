"""Build commands: pack, validate, summary, inspect. Heavy modules load inside the
commands, so `--help` stays quick."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .context import Ctx, emit, json_option, pass_ctx
from .humanize import columns, duration, plural, readable, when

if TYPE_CHECKING:
    from ..models.results import OperationResult


def pack_line(result: OperationResult) -> str | None:
    """The one summary line of a published pack: the packer's own sentence (which names
    the cache tiers) in words, and the time taken. None when nothing was published."""
    from ..models.results import PackResult

    assert isinstance(result, PackResult)
    if result.status.value != "success" or not result.published:
        return None
    return f"{readable(result.summary)} in {duration(result.elapsed_ms)}"


def _render_pack(result: OperationResult) -> None:
    from .render import out, print_diagnostics, print_result

    line = pack_line(result)
    if line is None:
        print_result(result)
        return
    out.print(f"[green]success[/]: {line}")
    print_diagnostics(result.diagnostics)


@click.command()
@json_option
@pass_ctx
def pack(ctx: Ctx, as_json: bool) -> None:
    """Pack the build set into build/assets.pa (+ companions)."""
    emit(ctx.service().pack(), as_json, _render_pack)


def _render_validate(result: OperationResult) -> None:
    from ..models.results import ValidatePackResult
    from .render import out, print_diagnostics, print_result

    assert isinstance(result, ValidatePackResult)
    print_result(result, show_diagnostics=False)
    for row in result.assets:
        ident = row.asset_id if row.asset_id is not None else "-"
        out.print(
            f"[bold]{ident} {row.root}[/] ({row.name or '?'}): "
            f"{plural(len(row.diagnostics), 'blocking problem')}"
        )
        print_diagnostics(row.diagnostics)


@click.command()
@json_option
@pass_ctx
def validate(ctx: Ctx, as_json: bool) -> None:
    """The pack gate: list build-set assets with blocking problems (exit 1 if any)."""
    emit(ctx.service().validate_pack(), as_json, _render_validate)


def _render_summary(result: OperationResult) -> None:
    from ..models.results import PackSummaryResult
    from .render import out, print_diagnostics

    assert isinstance(result, PackSummaryResult)
    out.print(result.summary, markup=False)
    rows = [
        (
            str(a.asset_id),
            a.name,
            a.family,
            f"{a.min_artifact_count}..{a.max_artifact_count}",
            when(a.last_modified),
        )
        for a in result.assets
    ]
    if rows:
        header = ("id", "name", "family", "artifacts", "last modified")
        out.print("\n".join(columns(rows, out.width, header)), markup=False)
    print_diagnostics(result.diagnostics)


@click.command()
@json_option
@pass_ctx
def summary(ctx: Ctx, as_json: bool) -> None:
    """The build set at a glance (fast: no image or sound decoding)."""
    emit(ctx.service().pack_summary(), as_json, _render_summary)


def _render_inspect(result: OperationResult) -> None:
    """The asset table laid out for the terminal's width (one block per asset when narrow);
    nothing but the problem when the file could not be read."""
    from ..models.results import InspectResult
    from .humanize import size
    from .render import out, print_diagnostics, print_result

    assert isinstance(result, InspectResult)
    print_result(result, show_diagnostics=False)
    if result.header_len is None:
        print_diagnostics(result.diagnostics)
        return
    out.print(
        f"  {size(result.file_size)}, header {size(result.header_len)}, "
        f"payload at byte {result.payload_offset}",
        markup=False,
    )
    rows = [
        (
            str(e.get("asset_id")),
            str(e.get("asset_name")),
            str(e.get("bank_type")),
            str(e.get("offset")),
            size(e.get("size") if isinstance(e.get("size"), int) else None),
            size(e.get("decoded_size") if isinstance(e.get("decoded_size"), int) else None),
            str(e.get("codec")),
            json.dumps(e.get("metadata"), sort_keys=True),
        )
        for e in result.asset_table
    ]
    if rows:
        header = ("id", "name", "bank", "offset", "size", "decoded", "codec", "metadata")
        out.print("\n".join(columns(rows, out.width, header)), markup=False)
    slots = [f"asset {p.get('asset_id')} in slot {p.get('slot')}" for p in result.preload]
    out.print("preload: " + (", ".join(slots) if slots else "none"), markup=False)
    for f in result.extracted:
        out.print(f"  extracted {f}", markup=False)
    print_diagnostics(result.diagnostics)


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--extract",
    "extract_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each glyph bank as PNG (index 0 transparent, plus a contact sheet with its "
    "palettes) and each sample as WAV into this folder.",
)
@json_option
@pass_ctx
def inspect(ctx: Ctx, path: Path | None, extract_dir: Path | None, as_json: bool) -> None:
    """Validate and show an assets.pa (default: the project's build/assets.pa)."""
    from ..artifact.inspect import inspect_file

    if path is None:  # shown relative to where the person stands, when it is below
        path = ctx.service().project.build_dir / "assets.pa"
        here = Path.cwd()
        if path.is_relative_to(here):
            path = path.relative_to(here)
    emit(inspect_file(path, extract_dir), as_json, _render_inspect)


COMMANDS = [pack, validate, summary, inspect]
