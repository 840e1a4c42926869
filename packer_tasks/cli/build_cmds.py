"""Build commands: pack, validate, summary, inspect."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from ..artifact.inspect import inspect_file
from ..models.results import (
    InspectResult,
    OperationResult,
    PackResult,
    PackSummaryResult,
    ValidatePackResult,
)
from .context import Ctx, emit, json_option, pass_ctx
from .render import out, print_diagnostics, print_result


def _render_pack(result: OperationResult) -> None:
    assert isinstance(result, PackResult)
    print_result(result)
    if result.status.value == "success" and result.published:
        out.print(
            f"packed {result.packed_assets} asset(s): {result.cache_hits} cache hit(s), "
            f"{result.cache_misses} miss(es), {result.elapsed_ms} ms → {result.assets_pa}"
        )


@click.command()
@json_option
@pass_ctx
def pack(ctx: Ctx, as_json: bool) -> None:
    """Pack the build set into build/assets.pa (+ companions)."""
    emit(ctx.service().pack(), as_json, _render_pack)


def _render_validate(result: OperationResult) -> None:
    assert isinstance(result, ValidatePackResult)
    print_result(result, show_diagnostics=False)
    for row in result.assets:
        out.print(
            f"[bold]{row.asset_id if row.asset_id is not None else '-'} "
            f"{row.root}[/] ({row.name or '?'}): {len(row.diagnostics)} blocking"
        )
        print_diagnostics(row.diagnostics)


@click.command()
@json_option
@pass_ctx
def validate(ctx: Ctx, as_json: bool) -> None:
    """The pack gate: list build-set assets with blocking problems (exit 1 if any)."""
    emit(ctx.service().validate_pack(), as_json, _render_validate)


def _render_summary(result: OperationResult) -> None:
    assert isinstance(result, PackSummaryResult)
    table = Table(title=result.summary)
    for col in ("id", "name", "family", "artifacts (min..max)", "last modified (ms)"):
        table.add_column(col)
    for a in result.assets:
        table.add_row(
            str(a.asset_id),
            a.name,
            a.family,
            f"{a.min_artifact_count}..{a.max_artifact_count}",
            str(a.last_modified),
        )
    out.print(table)
    print_diagnostics(result.diagnostics)


@click.command()
@json_option
@pass_ctx
def summary(ctx: Ctx, as_json: bool) -> None:
    """The build set at a glance (fast: no image or sound decoding)."""
    emit(ctx.service().pack_summary(), as_json, _render_summary)


def _render_inspect(result: OperationResult) -> None:
    assert isinstance(result, InspectResult)
    print_result(result, show_diagnostics=False)
    if result.header_len is not None:
        out.print(f"  header_len {result.header_len}, payload_offset {result.payload_offset}")
    table = Table(title="asset_table")
    for col in ("id", "name", "bank", "offset", "size", "decoded", "codec"):
        table.add_column(col)
    table.add_column("metadata", overflow="ellipsis", no_wrap=True, max_width=60)
    for e in result.asset_table:
        meta = json.dumps(e.get("metadata"), sort_keys=True)
        table.add_row(
            *(
                str(e.get(k))
                for k in (
                    "asset_id",
                    "asset_name",
                    "bank_type",
                    "offset",
                    "size",
                    "decoded_size",
                    "codec",
                )
            ),
            meta if len(meta) < 80 else meta[:77] + "...",
        )
    out.print(table)
    out.print(
        "preload: " + ", ".join(f"{p.get('asset_id')}→slot {p.get('slot')}" for p in result.preload)
    )
    for f in result.extracted:
        out.print(f"  extracted {f}")
    print_diagnostics(result.diagnostics)


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--extract",
    "extract_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each glyph bank as PNG and each sample as WAV into this folder.",
)
@json_option
@pass_ctx
def inspect(ctx: Ctx, path: Path | None, extract_dir: Path | None, as_json: bool) -> None:
    """Validate and show an assets.pa (default: the project's build/assets.pa)."""
    if path is None:
        path = ctx.service().project.build_dir / "assets.pa"
    emit(inspect_file(path, extract_dir), as_json, _render_inspect)


COMMANDS = [pack, validate, summary, inspect]
