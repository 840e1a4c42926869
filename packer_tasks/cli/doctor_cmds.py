"""Doctor and quarantine commands: doctor [--workspace] [--fix [--yes]] [--catalog],
quarantine ASSET [--yes] / quarantine --list, restore NAME [--yes]."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .complete import complete_asset
from .context import Ctx, emit, json_option, pass_ctx
from .humanize import columns, plural, size

if TYPE_CHECKING:
    from ..models.diagnostic import Diagnostic
    from ..models.results import OperationResult


def _line(d: Diagnostic) -> str:
    from rich.markup import escape

    from .render import diagnostic_line

    return diagnostic_line(d) + (f"\n      [green]fix: {escape(d.fix)}[/]" if d.fix else "")


def _render_doctor(result: OperationResult) -> None:
    from rich.markup import escape

    from ..models.results import DoctorResult
    from .render import out, print_result

    assert isinstance(result, DoctorResult)
    print_result(result, show_diagnostics=False)
    if result.project:
        out.print(f"[bold]project[/] ({plural(len(result.project), 'finding')})")
        for d in result.project:
            out.print(_line(d))
    clean = 0
    for report in result.assets:
        if not report.diagnostics:
            clean += 1
            continue
        ident = f"{report.asset_id} " if report.asset_id is not None else ""
        state = "" if report.registered else " [dim](unregistered)[/]"
        out.print(
            f"[bold]{ident}{escape(report.root)}[/] ({escape(report.name or '?')})"
            f"{state}: {plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}, "
            f"{plural(report.infos, 'note')}"
        )
        for d in report.diagnostics:
            out.print(_line(d))
    if clean:
        out.print(f"[green]{plural(clean, 'asset')} with no findings[/]")


@click.command()
@click.option(
    "--workspace", is_flag=True, help="Also scan all of assets/: unregistered roots, stray files."
)
@click.option("--fix", is_flag=True, help="Preview the safe, mechanical fixes.")
@click.option("--yes", is_flag=True, help="With --fix: apply the safe ones (in the write lane).")
@click.option(
    "--drop-missing",
    is_flag=True,
    help="With --fix --yes: also drop registry entries whose root is gone (retires their ids).",
)
@click.option("--catalog", is_flag=True, help="Print every diagnostic code and exit.")
@json_option
@pass_ctx
def doctor(
    ctx: Ctx,
    workspace: bool,
    fix: bool,
    yes: bool,
    drop_missing: bool,
    catalog: bool,
    as_json: bool,
) -> None:
    """Diagnose the project (exit 1 when something blocks the pack).

    Findings are grouped by asset. Blocking ones are exactly what `validate` reports; the
    rest is advice. `--fix` previews safe fixes file by file; `--fix --yes` applies them.
    Dropping the entry of a root that is gone retires its id, so it needs --drop-missing.
    """
    if yes and not fix:
        raise click.UsageError("--yes applies fixes, so it needs --fix")
    if drop_missing and not (fix and yes):
        raise click.UsageError("--drop-missing is a fix to apply: use --fix --yes --drop-missing")
    if catalog and (fix or workspace):
        raise click.UsageError("--catalog prints the code table; it takes no other option")
    if catalog:
        from ..doctor.catalog import CatalogResult, catalog_entries
        from ..events.sink import new_operation_id
        from ..models.results import Status

        entries = catalog_entries()
        emit(
            CatalogResult(
                operation="diagnostic_catalog",
                operation_id=new_operation_id(),
                status=Status.SUCCESS,
                summary=f"{len(entries)} diagnostic codes",
                entries=entries,
            ),
            as_json,
            _render_catalog,
        )
    service = ctx.service()
    result = (
        service.doctor_fix(apply=yes, workspace=workspace, drop_missing=drop_missing)
        if fix
        else service.doctor(workspace=workspace)
    )
    try:
        emit(result, as_json, _render_doctor)
    except SystemExit as done:  # a previewed fix exits 0 elsewhere; doctor says "blocked"
        raise SystemExit(1 if result.blocking else done.code) from None


def _render_catalog(result: OperationResult) -> None:
    """One line per code (greppable), then its meaning."""
    from rich.markup import escape

    from ..doctor.catalog import CatalogResult
    from .render import out

    assert isinstance(result, CatalogResult)
    out.print(result.summary)
    for e in result.entries:
        blocking = "blocking" if e.blocking else "advisory"
        fixes = f" [green]fix: {' '.join(e.fixes)}[/]" if e.fixes else ""
        out.print(
            f"{e.code}  [dim]{e.severity.value}, {blocking}, {e.kind.value}[/]{fixes}\n"
            f"    {escape(e.description)}"
        )


def _render_quarantine_list(result: OperationResult) -> None:
    from ..models.results import QuarantineListResult
    from .render import diagnostic_line, out

    assert isinstance(result, QuarantineListResult)
    out.print(result.summary, markup=False)
    rows = [
        (
            q.name,
            q.original_root,
            str(q.asset_id or "-"),
            "-"
            if q.included_in_build is None
            else ("included" if q.included_in_build else "excluded"),
            f"{plural(q.file_count, 'file')}, {size(q.total_size)}",
            q.quarantined_at.replace("T", " ")[:16],
        )
        for q in result.entries
    ]
    if rows:
        header = ("name", "original root", "id", "build", "files", "since")
        out.print("\n".join(columns(rows, out.width, header)), markup=False)
    for d in result.diagnostics:
        out.print(diagnostic_line(d))


@click.command()
@click.argument("asset", required=False, shell_complete=complete_asset)
@click.option("--list", "list_", is_flag=True, help="List what is in quarantine.")
@click.option("--yes", is_flag=True, help="Apply the move (otherwise only preview it).")
@json_option
@pass_ctx
def quarantine(ctx: Ctx, asset: str | None, list_: bool, yes: bool, as_json: bool) -> None:
    """Move ASSET (id or root, registered or not) to assets/.prometeu/quarantine/.

    It leaves the build but keeps its identity; `restore NAME --yes` brings it back.
    """
    if list_:
        if asset is not None or yes:
            raise click.UsageError("--list takes no ASSET and no --yes")
        emit(ctx.service().list_quarantined(), as_json, _render_quarantine_list)
    if asset is None:
        raise click.UsageError("give the ASSET to quarantine, or --list")
    emit(ctx.service().quarantine_asset(asset, apply=yes), as_json)


@click.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Apply the restore (otherwise only preview it).")
@json_option
@pass_ctx
def restore(ctx: Ctx, name: str, yes: bool, as_json: bool) -> None:
    """Bring quarantined NAME back to its original root with the same asset_id and uuid."""
    emit(ctx.service().restore_asset(name, apply=yes), as_json)


COMMANDS = [doctor, quarantine, restore]
