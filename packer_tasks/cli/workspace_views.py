"""How the workspace commands' results look to a person (rich and the result models load
here, only when a command prints)."""

from __future__ import annotations

from rich.markup import escape

from ..models.results import AssetDetailsResult, AssetSummary, ListAssetsResult, OperationResult
from .humanize import columns, size, when, words
from .render import out, print_diagnostics, print_result


def _state(a: AssetSummary) -> str:
    """One word (and the first problem) for a row of `list`."""
    if a.quarantined:
        return "quarantined"
    if not a.checked:
        return "blocked" if a.blocking else "unchecked"
    if a.blocking:
        more = f" +{len(a.problems) - 1}" if len(a.problems) > 1 else ""
        return f"blocked: {a.problems[0]}{more}" if a.problems else "blocked"
    return "ok"


def _build_word(a: AssetSummary) -> str:
    if a.quarantined:
        return "quarantine"
    if not a.registered:
        return "unregistered"
    return "included" if a.included_in_build else "excluded"


def render_list(result: OperationResult) -> None:
    assert isinstance(result, ListAssetsResult)
    out.print(escape(result.summary))
    rows = [
        (
            str(a.asset_id) if a.asset_id is not None else "-",
            a.root,
            a.name or "?",
            a.family or "?",
            str(a.artifact_count),
            _build_word(a),
            _state(a),
        )
        for a in result.assets
    ]
    if rows:
        header = ("id", "root", "name", "family", "artifacts", "build", "state")
        out.print("\n".join(columns(rows, out.width, header)), markup=False)
    print_diagnostics(result.diagnostics)


def render_details(result: OperationResult) -> None:
    assert isinstance(result, AssetDetailsResult)
    print_result(result, show_diagnostics=False)
    a = result.asset
    if a is not None:
        ident = f"asset_id {a.asset_id}" if a.asset_id is not None else "unregistered"
        out.print(f"  {ident}, uuid {a.asset_uuid}", markup=False)
        out.print(f"  build: {_build_word(a)}; state: {_state(a)}", markup=False)
        if a.output:
            meta = ", ".join(f"{k} {v}" for k, v in (a.output.get("metadata") or {}).items())
            out.print(
                f"  output: {a.output.get('format')}, codec {a.output.get('codec')}"
                + (f", {meta}" if meta else ""),
                markup=False,
            )
        if a.preload is not None:
            slot = a.preload.get("slot")
            word = "on" if a.preload.get("enabled") else "off"
            out.print(f"  preload: {word}" + (f", slot {slot}" if slot is not None else ""))
        out.print(f"  last modified: {when(a.last_modified)}")
        for i in a.inputs:
            got = size(i.size) if i.size is not None else "[red]missing[/]"
            out.print(f"  input {escape(i.file)} ({escape(words(i.roles))}): {got}")
    print_diagnostics(result.diagnostics)
