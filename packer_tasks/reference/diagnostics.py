"""The diagnostics page: every code of the doctor's catalogue, with the hints the code
itself gives where it raises that code, and the safe fixes that resolve it."""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from ..doctor.catalog import CatalogEntry, CodeKind, catalog_entries
from ..doctor.fixes import FIX_IDS
from . import markdown as md
from .source import (
    Module,
    Source,
    argument,
    assigned_texts,
    callee_name,
    calls,
    literal_text,
    texts,
)

# Callables that make a diagnostic, and where each takes its hint when not by keyword.
MAKERS = {"error": 2, "warning": 2, "info": 2, "_WavError": 2, "add": 3}
CODE_RE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
FIXES_MODULE = "packer_tasks/doctor/fixes.py"
FIX_LINE = re.compile(r"^\* `(?P<fix>\w+)` \((?P<codes>[^)]*)\):? ?(?P<text>.*)$")

# Written for this page (marked † in it): the source raises these codes without a hint.
WRITTEN_FIXES = {
    "declaration.invalid_json": "fix the JSON syntax at the line and column named",
    "registry.invalid_json": "fix the JSON syntax at the line and column named",
    "declaration.missing": "put the asset.json back, or `remove` the registry entry",
    "registry.root_invalid": "write the root relative to assets/ with '/' separators",
}
ARTIFACT_FIX = "the file is damaged or not from this packer: run `prometeu-packer pack` again"
WRITTEN_MARK = " †"

KIND_TEXT = {
    CodeKind.STRUCTURAL: "registry, declarations and paths (no input bytes read)",
    CodeKind.FAMILY: "decoding and checking PNG/WAV inputs",
    CodeKind.HYGIENE: "advice from `doctor --workspace`; never blocks a build",
    CodeKind.OPERATION: "a refused request (a command that cannot do what was asked)",
    CodeKind.BUILD: "pack execution",
    CodeKind.ARTIFACT: "checking an existing assets.pa (`inspect`, `validate`)",
}


def raised_codes(src: Source) -> dict[str, dict[str, set[str]]]:
    """code → {"hints": {...}, "where": {module, ...}} for every literal code in the source."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"hints": set(), "where": set()})
    for module in src.modules:
        names = assigned_texts(module)
        for call in calls(module):
            _note_call(module, call, names, found)
    return dict(found)


def _note_call(
    module: Module,
    call: ast.Call,
    names: dict[str, set[str]],
    found: dict[str, dict[str, set[str]]],
) -> None:
    name = callee_name(call)
    if name not in MAKERS or not call.args:
        return
    code = literal_text(call.args[0])
    if code is None or not CODE_RE.fullmatch(code):
        return
    found[code]["where"].add(module.name)
    found[code]["hints"].update(texts(argument(call, MAKERS[name], "hint"), names))


def fix_descriptions(src: Source) -> dict[str, tuple[str, str]]:
    """fix id → (codes it resolves, what it does), from the fixes module's own docstring;
    the ids themselves come from FIX_IDS, so a new fix shows up even before it is described."""
    tree = src.tree(FIXES_MODULE)
    doc = (ast.get_docstring(tree) or "") if tree is not None else ""
    text: dict[str, list[str]] = {}
    current = ""
    for raw in doc.splitlines():
        line = raw.strip()
        match = FIX_LINE.match(line)
        if match:
            current = match["fix"]
            text[current] = [match["codes"], match["text"]]
        elif current and line and not line.startswith("*"):
            text[current][1] += " " + line
        else:
            current = ""
    out: dict[str, tuple[str, str]] = {}
    for fix in FIX_IDS:
        codes, what = text.get(fix, ["", ""])
        out[fix] = (codes, what.strip(" .") + "." if what.strip(" .") else "")
    return out


def render(src: Source) -> str:
    entries = catalog_entries()
    raised = raised_codes(src)
    fixes = fix_descriptions(src)
    sections = [_summary_table(entries)]
    for kind in CodeKind:
        group = [e for e in entries if e.kind is kind]
        if group:
            sections.append(_kind_section(kind, group, raised))
    sections.append(_fixes_section(fixes))
    sections.append(_drift_section(entries, raised))
    intro = (
        "Every finding the packer reports carries a stable dotted `code`. This page lists "
        "them all, from the catalogue in `packer_tasks/doctor/catalog.py` (the same table "
        "`prometeu-packer doctor --catalog` prints). **Typical fix** is the hint the packer "
        "prints with the finding, read from the places in the source that raise it (`…` "
        "stands for a value filled in at run time, such as a file name); a fix marked † is "
        "written for this page because the code raises that finding without a hint.\n\n"
        "`blocking` says whether a code stops `pack` when it concerns a build-set asset or "
        "the registry; for excluded or unregistered roots doctor reports the same problems "
        "without blocking. Exit codes: a command exits 1 when a blocking finding stands."
    )
    return md.page("Diagnostics catalogue", intro, sections)


def _summary_table(entries: list[CatalogEntry]) -> str:
    counts = {k: sum(1 for e in entries if e.kind is k) for k in CodeKind}
    rows = [(f"[{k.value}](#{k.value})", KIND_TEXT[k], counts[k]) for k in CodeKind]
    return "## Kinds\n\n" + md.table(["kind", "where it comes from", "codes"], rows)


def _kind_section(
    kind: CodeKind, group: list[CatalogEntry], raised: dict[str, dict[str, set[str]]]
) -> str:
    rows = []
    for e in group:
        fix = _typical_fix(e, raised)
        if e.fixes:
            safe = ", ".join(md.code(f) for f in e.fixes)
            fix = f"{fix} (safe fix: {safe})" if fix else f"safe fix: {safe}"
        rows.append(
            (
                md.code(e.code),
                e.severity.value,
                "yes" if e.blocking else "no",
                e.description,
                fix,
            )
        )
    headers = ["code", "severity", "blocking", "meaning", "typical fix"]
    return f"## {kind.value}\n\n{KIND_TEXT[kind]}.\n\n" + md.table(headers, rows)


def _typical_fix(e: CatalogEntry, raised: dict[str, dict[str, set[str]]]) -> str:
    hints = sorted(raised.get(e.code, {}).get("hints", set()))
    if hints:
        return "; ".join(hints)
    if e.code in WRITTEN_FIXES:
        return WRITTEN_FIXES[e.code] + WRITTEN_MARK
    return ARTIFACT_FIX + WRITTEN_MARK if e.kind is CodeKind.ARTIFACT else ""


def _fixes_section(fixes: dict[str, tuple[str, str]]) -> str:
    rows = [(md.code(fix), codes, text) for fix, (codes, text) in fixes.items()]
    intro = (
        "Fix ids appear in a diagnostic's `fix` field. `prometeu-packer doctor --fix` "
        "previews them; `doctor --fix --yes` applies them inside the write lane."
    )
    return (
        "## Safe fixes\n\n"
        + intro
        + "\n\n"
        + md.table(["fix", "resolves", "what it changes"], rows)
    )


def _drift_section(entries: list[CatalogEntry], raised: dict[str, dict[str, set[str]]]) -> str:
    known = {e.code for e in entries}
    missing = sorted(set(raised) - known)
    if not missing:
        return ""
    rows = [(md.code(c), ", ".join(sorted(raised[c]["where"]))) for c in missing]
    return (
        "## Raised but not catalogued\n\n"
        "These codes appear in the source but not in the catalogue; they need an entry.\n\n"
        + md.table(["code", "raised in"], rows)
    )
