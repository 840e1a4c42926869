"""Cache maintenance and `explain`: thin wrappers over the service."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from .context import Ctx, emit, json_option, pass_ctx

if TYPE_CHECKING:
    from ..models.results import OperationResult

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kmg]?)i?b?\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not a size like 500M or 2G")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_age(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not an age like 30d or 12h")
    return int(m.group(1)) * _AGES[m.group(2) or "s"]


@click.group()
def cache() -> None:
    """Inspect and maintain the content-addressed payload cache."""


@cache.command()
@json_option
@pass_ctx
def stats(ctx: Ctx, as_json: bool) -> None:
    """Entries, volume and size limit of the cache directory."""
    emit(ctx.service().cache_stats(), as_json)


@cache.command()
@json_option
@pass_ctx
def verify(ctx: Ctx, as_json: bool) -> None:
    """Re-check every entry's digest; evict and report corrupt ones."""
    emit(ctx.service().cache_verify(), as_json)


@cache.command()
@click.option("--max-size", default=None, help="Evict oldest entries until below (e.g. 500M).")
@click.option("--older-than", default=None, help="Evict entries older than (e.g. 30d, 12h).")
@json_option
@pass_ctx
def prune(ctx: Ctx, max_size: str | None, older_than: str | None, as_json: bool) -> None:
    """Evict entries by total size and/or age."""
    if max_size is None and older_than is None:
        raise click.UsageError("give --max-size and/or --older-than")
    emit(
        ctx.service().cache_prune(
            parse_size(max_size) if max_size else None,
            parse_age(older_than) if older_than else None,
        ),
        as_json,
    )


@cache.command()
@json_option
@pass_ctx
def clear(ctx: Ctx, as_json: bool) -> None:
    """Remove every entry (the next pack re-materializes everything)."""
    emit(ctx.service().cache_clear(), as_json)


def _render_explain(result: OperationResult) -> None:
    from ..models.results import ExplainResult  # pydantic and rich: only for a result
    from .render import out, print_result

    assert isinstance(result, ExplainResult)
    print_result(result)
    for change in result.changes:
        out.print(f"  - {change}")
    if result.cache_key:
        out.print(f"  cache key {result.cache_key} ({'cached' if result.cached else 'not cached'})")


@click.command()
@click.argument("asset")
@json_option
@pass_ctx
def explain(ctx: Ctx, asset: str, as_json: bool) -> None:
    """Say why ASSET would re-materialize (which file, field or packer version changed)."""
    emit(ctx.service().explain(asset), as_json, _render_explain)


COMMANDS = [cache, explain]
