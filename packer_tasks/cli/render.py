"""Rendering results for people (rich) or tools (`--json`). No packer semantics here."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape

from ..models.diagnostic import Diagnostic
from ..models.results import OperationResult, Status
from .humanize import readable

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def exit_code(result: OperationResult) -> int:
    """0 when the operation did (or previewed) its job, 1 when something blocks or failed."""
    return 0 if result.status in (Status.SUCCESS, Status.PREVIEW) else 1


def print_json(result: OperationResult) -> None:
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


def diagnostic_line(d: Diagnostic) -> str:
    style = _STYLE.get(d.severity.value, "")
    block = " (blocking)" if d.blocking else ""
    head = f"[{style}]{d.severity.value}{block}[/] {escape(d.code)}"
    where = f" {escape(d.where)}:" if d.where else ":"
    text = f"  {head}{where} {escape(readable(d.message))}"
    if d.hint:
        text += f"\n      [dim]hint: {escape(d.hint)}[/]"
    return text


def print_diagnostics(diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        out.print(diagnostic_line(d))


def print_result(result: OperationResult, *, show_diagnostics: bool = True) -> None:
    """The common human rendering: summary line, actions, diagnostics."""
    colour = {"success": "green", "preview": "cyan", "blocked": "red", "failed": "red"}
    text = escape(readable(result.summary))
    out.print(f"[{colour[result.status.value]}]{result.status.value}[/]: {text}")
    for a in result.proposed_actions:
        target = f" → {a.target}" if a.target else ""
        out.print(
            f"  [cyan]would[/] {escape(a.kind)} {escape(a.path or '')}{escape(target)}: "
            f"{escape(a.description)}"
        )
    for a in result.applied_actions:
        target = f" → {a.target}" if a.target else ""
        out.print(
            f"  [green]done[/] {escape(a.kind)} {escape(a.path or '')}{escape(target)}: "
            f"{escape(a.description)}"
        )
    if show_diagnostics:
        print_diagnostics(result.diagnostics)
