"""Safe fixes of SPEC §7: mechanical repairs that lose nothing, previewed before applied.

A fix is planned from a fresh look at the files. It names the diagnostics it resolves, an
`Action` saying what changes in which file, and a pure edit: a registry transform or a
bytes-to-bytes rewrite of one `asset.json`. Applying re-plans inside the write lane, so a
preview computed earlier is never applied to files that changed since. Adopting,
relocating, deleting and quarantining are not fixes; they stay explicit operations.

* `canonicalize_registry` (registry.not_canonical): index.json rewritten, same values.
* `advance_allocator` (registry.allocator_behind): next_asset_id above every issued id.
* `normalize_separators` (path.backslash, registry.root_invalid): backslashes become '/'
  where the resulting path exists inside the root.
* `add_preload_disabled` (declaration.schema when `preload` is all it lacks).
* `follow_moved_root` (asset.root_missing, the asset.json found at one other root): the
  registry root follows the folder; ids kept.
* `drop_missing_entry` (asset.root_missing, the asset found nowhere): entry removed; its id
  stays retired. Not in the safe set: dropping an entry changes which ids exist (a root
  moved aside for a while would lose its identity for good), so it is applied only with its
  own consent (`doctor --fix --yes --drop-missing`) and otherwise stays a preview.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..models.declaration import ASSET_FILE, AssetDeclaration
from ..models.diagnostic import Diagnostic
from ..models.registry import Registry, RegistryEntry
from ..models.results import Action
from ..workspace.atomic import write_atomic
from ..workspace.declarations import LoadedAsset, parse_declaration
from ..workspace.paths import relative_path_problem, resolve_inside
from ..workspace.project import Project
from ..workspace.registry_store import REGISTRY_LABEL, load_registry, save_registry
from ..workspace.scan import find_asset_roots
from ..workspace.snapshot import WorkspaceSnapshot

FIX_IDS = (
    "canonicalize_registry",
    "advance_allocator",
    "normalize_separators",
    "add_preload_disabled",
    "follow_moved_root",
    "drop_missing_entry",
)
# Fixes that change which asset ids exist: never part of `--fix --yes` on its own.
IDENTITY_FIXES = frozenset({"drop_missing_entry"})


@dataclass(frozen=True)
class PlannedFix:
    """One safe change and the findings it resolves (matched by code, root and path)."""

    fix_id: str
    codes: tuple[str, ...]
    asset_root: str | None
    path: str | None
    action: Action
    registry_edit: Callable[[Registry], Registry] | None = None
    file: Path | None = None
    file_edit: Callable[[bytes], bytes] | None = None

    def resolves(self, d: Diagnostic) -> bool:
        return (
            d.code in self.codes
            and (self.asset_root is None or d.asset_root == self.asset_root)
            and (self.path is None or d.path == self.path)
        )


def annotate(diagnostics: Iterable[Diagnostic], fixes: list[PlannedFix]) -> list[Diagnostic]:
    """Set `fix` to the planned fix for each finding, and clear fix ids that cannot apply."""
    out = []
    for d in diagnostics:
        fix = next((f.fix_id for f in fixes if f.resolves(d)), None)
        out.append(d if d.fix == fix else d.model_copy(update={"fix": fix}))
    return out


# -- registry ---------------------------------------------------------------------------------


def _sorted(registry: Registry) -> Registry:
    return registry.model_copy(update={"assets": sorted(registry.assets, key=lambda e: e.asset_id)})


def _advance(registry: Registry) -> Registry:
    top = max((e.asset_id for e in registry.assets), default=0)
    return registry.model_copy(update={"next_asset_id": max(registry.next_asset_id, top + 1)})


def _set_root(asset_id: int, root: str, registry: Registry) -> Registry:
    entry = registry.by_id(asset_id)
    return (
        registry if entry is None else registry.with_entry(entry.model_copy(update={"root": root}))
    )


def _drop(asset_id: int, registry: Registry) -> Registry:
    return registry.without(asset_id)


def _registry_fix(
    fix_id: str,
    codes: tuple[str, ...],
    entry: RegistryEntry | None,
    description: str,
    edit: Callable[[Registry], Registry],
) -> PlannedFix:
    return PlannedFix(
        fix_id,
        codes,
        entry.root if entry else None,
        None,
        Action(kind=fix_id, path=REGISTRY_LABEL, description=description),
        registry_edit=edit,
    )


def _uuids_of_unregistered(project: Project, snap: WorkspaceSnapshot) -> dict[str, list[str]]:
    """asset_uuid -> unregistered roots carrying it (where a hand-moved root went)."""
    known = {a.entry.root for a in snap.registered}
    if snap.unregistered is not None:
        pairs = [
            (u.root, u.declaration.asset_uuid)
            for u in snap.unregistered
            if u.declaration is not None
        ]
    else:
        pairs = []
        for root in find_asset_roots(project.assets_dir):
            if root in known:
                continue
            try:
                data = (project.root_dir(root) / ASSET_FILE).read_bytes()
            except OSError:
                continue
            decl, _ = parse_declaration(data, root)
            if decl is not None:
                pairs.append((root, decl.asset_uuid))
    out: dict[str, list[str]] = {}
    for root, uuid in pairs:
        out.setdefault(uuid, []).append(root)
    return out


def _order_fixes(snap: WorkspaceSnapshot, reg: Registry) -> list[PlannedFix]:
    """Canonical form and an allocator above every issued id."""
    out: list[PlannedFix] = []
    codes = {d.code for d in snap.registry_diagnostics}
    ids = [e.asset_id for e in reg.assets]
    if "registry.not_canonical" in codes or ids != sorted(ids):
        out.append(
            _registry_fix(
                "canonicalize_registry",
                ("registry.not_canonical",),
                None,
                "rewrite it canonically (sorted keys, 2-space indent, entries by asset_id, "
                "trailing newline); no value changes",
                _sorted,
            )
        )
    top = max(ids, default=0)
    if top >= reg.next_asset_id:
        out.append(
            _registry_fix(
                "advance_allocator",
                ("registry.allocator_behind",),
                None,
                f"next_asset_id {reg.next_asset_id} -> {top + 1}, above every issued id",
                _advance,
            )
        )
    return out


def _separator_fix(project: Project, reg: Registry, e: RegistryEntry) -> PlannedFix | None:
    """A root written with backslashes, when the '/' form names a free, existing root."""
    fixed = e.root.replace("\\", "/")
    if (
        relative_path_problem(fixed, "root") is None
        and reg.by_root(fixed) is None
        and (project.root_dir(fixed) / ASSET_FILE).is_file()
    ):
        return _registry_fix(
            "normalize_separators",
            ("registry.root_invalid", "asset.root_missing"),
            e,
            f"asset {e.asset_id} root {e.root!r} -> {fixed!r}",
            partial(_set_root, e.asset_id, fixed),
        )
    return None


def _root_proven_missing(project: Project, e: RegistryEntry) -> bool:
    """A valid root with nothing at all (not even a dangling link) where it points."""
    if relative_path_problem(e.root, "root") is not None:
        return False
    try:
        os.lstat(project.root_dir(e.root))
    except (FileNotFoundError, NotADirectoryError):
        return True  # nothing at all there, not even a dangling link
    except OSError:
        return False  # e.g. a name too long for the filesystem: not proven missing
    return False


def _missing_root_fix(reg: Registry, e: RegistryEntry, found: list[str]) -> PlannedFix | None:
    """Follow the root to the one unregistered root holding its asset_uuid, or drop the
    entry when the asset is found nowhere."""
    if len(found) == 1 and reg.by_root(found[0]) is None:
        return _registry_fix(
            "follow_moved_root",
            ("asset.root_missing",),
            e,
            f"asset {e.asset_id} root {e.root!r} -> {found[0]!r}, where its asset.json "
            "(same asset_uuid) now is; ids kept",
            partial(_set_root, e.asset_id, found[0]),
        )
    if not found:
        return _registry_fix(
            "drop_missing_entry",
            ("asset.root_missing",),
            e,
            f"remove asset {e.asset_id} (assets/{e.root} is gone) from the registry; its "
            "id is retired, never reused (only with --drop-missing)",
            partial(_drop, e.asset_id),
        )
    return None


def _registry_fixes(
    project: Project, snap: WorkspaceSnapshot, quarantined: set[int]
) -> list[PlannedFix]:
    reg = snap.registry
    assert reg is not None
    out = _order_fixes(snap, reg)
    moved: dict[str, list[str]] | None = None
    for e in reg.assets:
        if "\\" in e.root:
            fix = _separator_fix(project, reg, e)
        elif _root_proven_missing(project, e) and e.asset_id not in quarantined:
            if moved is None:
                moved = _uuids_of_unregistered(project, snap)
            fix = _missing_root_fix(reg, e, moved.get(e.asset_uuid, []))
        else:
            fix = None
        if fix is not None:
            out.append(fix)
    return out


# -- asset.json -------------------------------------------------------------------------------


def _indent(text: str) -> str | int:
    """Keep the file's own indentation when it is re-serialized."""
    m = re.search(r"\n([ \t]+)\S", text)
    return m.group(1) if m else 2


def with_preload_disabled(data: bytes) -> bytes | None:
    """asset.json plus `"preload": {"enabled": false}`, or None when that is not the fix."""
    try:
        text = data.decode("utf-8")
        raw: Any = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or "preload" in raw:
        return None
    keys_sorted = list(raw) == sorted(raw)
    raw["preload"] = {"enabled": False}
    new = json.dumps(raw, indent=_indent(text), ensure_ascii=False, sort_keys=keys_sorted)
    return (new + "\n").encode("utf-8")


def _add_preload(data: bytes) -> bytes:
    return with_preload_disabled(data) or data


def replace_path(data: bytes, old: str, new: str) -> bytes | None:
    """Rewrite one quoted path string in place, leaving every other byte as it was."""
    text = data.decode("utf-8", errors="strict")
    for ascii_only in (False, True):
        needle = json.dumps(old, ensure_ascii=ascii_only)
        if needle in text:
            return text.replace(needle, json.dumps(new, ensure_ascii=False)).encode("utf-8")
    return None


def _replace(old: str, new: str, data: bytes) -> bytes:
    return replace_path(data, old, new) or data


def _preload_fix(root: str, file: Path, label: str, data: bytes) -> list[PlannedFix]:
    """`"preload": {"enabled": false}` when it is all the schema misses."""
    new = with_preload_disabled(data)
    if new is None or parse_declaration(new, label)[0] is None:
        return []
    return [
        PlannedFix(
            "add_preload_disabled",
            ("declaration.schema",),
            root,
            None,
            Action(
                kind="add_preload_disabled",
                path=label,
                description='add "preload": {"enabled": false}, the only field the '
                "schema misses (the asset is not preloaded at boot)",
            ),
            file=file,
            file_edit=_add_preload,
        )
    ]


def _backslash_fixes(
    la: LoadedAsset, decl: AssetDeclaration, file: Path, label: str, data: bytes
) -> list[PlannedFix]:
    """Declared paths written with backslashes whose '/' form is a file in the root."""
    root_dir = file.parent
    out: list[PlannedFix] = []
    paths = dict.fromkeys([*decl.input_files(), *(a.file for a in decl.artifacts)])
    for old in (p for p in paths if "\\" in p):
        fixed = old.replace("\\", "/")
        target, problem = resolve_inside(root_dir, fixed, "input")
        try:
            found = replace_path(data, old, fixed) is not None
        except UnicodeDecodeError:
            found = False
        if problem is None and target is not None and target.is_file() and found:
            out.append(
                PlannedFix(
                    "normalize_separators",
                    ("path.backslash",),
                    la.root,
                    old,
                    Action(
                        kind="normalize_separators",
                        path=label,
                        description=f"write {old!r} as {fixed!r} (that file exists in the "
                        "asset root)",
                    ),
                    file=file,
                    file_edit=partial(_replace, old, fixed),
                )
            )
    return out


def _declaration_fixes(project: Project, la: LoadedAsset) -> list[PlannedFix]:
    codes = {d.code for d in la.diagnostics}
    if not codes & {"declaration.schema", "path.backslash"}:
        return []
    file = project.root_dir(la.root) / ASSET_FILE
    label = f"assets/{la.root}/{ASSET_FILE}"
    try:
        data = file.read_bytes()
    except OSError:
        return []
    out: list[PlannedFix] = []
    if la.declaration is None and "declaration.schema" in codes:
        out += _preload_fix(la.root, file, label, data)
    if la.declaration is not None and "path.backslash" in codes:
        out += _backslash_fixes(la, la.declaration, file, label, data)
    return out


# -- planning and applying --------------------------------------------------------------------


def plan_fixes(
    project: Project, snap: WorkspaceSnapshot, quarantined: set[int]
) -> list[PlannedFix]:
    """Every safe fix the snapshot calls for; `quarantined` ids get `restore`, not a drop."""
    out: list[PlannedFix] = []
    if snap.registry is not None:
        out += _registry_fixes(project, snap, quarantined)
    seen: set[str] = set()
    for la in [*(a.loaded for a in snap.registered), *(snap.unregistered or ())]:
        if la.root not in seen:
            seen.add(la.root)
            out += _declaration_fixes(project, la)
    return out


def consented(fixes: list[PlannedFix], *, drop_missing: bool) -> list[PlannedFix]:
    """The fixes `--yes` applies: the safe set, plus identity fixes only when asked for."""
    return [f for f in fixes if drop_missing or f.fix_id not in IDENTITY_FIXES]


def apply_fixes(project: Project, fixes: list[PlannedFix]) -> list[Action]:
    """Apply planned fixes: one registry write, one atomic write per asset.json touched.

    Call inside the write lane with fixes planned inside it.
    """
    applied: list[Action] = []
    registry_fixes = [f for f in fixes if f.registry_edit is not None]
    if registry_fixes:
        registry, diags = load_registry(project.registry_path)
        if registry is None:
            raise RuntimeError(f"registry became unreadable: {diags[0].message}")
        for f in registry_fixes:
            assert f.registry_edit is not None
            registry = f.registry_edit(registry)
        save_registry(project.registry_path, _sorted(registry))
        applied += [f.action for f in registry_fixes]
    by_file: dict[Path, list[PlannedFix]] = {}
    for f in fixes:
        if f.file is not None and f.file_edit is not None:
            by_file.setdefault(f.file, []).append(f)
    for file, group in by_file.items():
        data = file.read_bytes()
        new = data
        for f in group:
            assert f.file_edit is not None
            new = f.file_edit(new)
        if new != data:
            write_atomic(file, new)
            applied += [f.action for f in group]
    return applied
