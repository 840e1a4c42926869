"""Adopting art that already sits under assets/, and changing an asset's settings.

`adopt_root` writes `asset.json` for a folder of PNGs or WAVs in place (or takes the one
that is there) and registers it; `set_asset` edits one setting with a preview and consent.
Both meet the gate's checks first, like `create_asset`: what would block the pack is
refused unless forced, and a refusal writes nothing.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..canonical_json import pretty
from ..families import FAMILIES, Family, get_family
from ..families.base import ScaffoldRequest
from ..models.declaration import (
    ASSET_FILE,
    ASSET_SCHEMA_VERSION,
    ArtifactDecl,
    AssetDeclaration,
    PreloadDecl,
)
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import (
    asset_already_registered,
    asset_root_nested,
    path_reserved,
)
from ..models.event import AssetRef
from ..models.registry import Registry
from ..models.results import Action, MutationResult
from ..workspace.atomic import write_atomic
from ..workspace.declarations import load_asset
from ..workspace.paths import normalize_root, root_problem
from ..workspace.project import Project
from ..workspace.registry_store import save_registry
from .asset_checks import declaration_verdict, loaded_verdict, read_inputs
from .asset_settings import SettingError, edit
from .base import OperationError, ServiceBase, applied, preview
from .workspace_ops import refuse_blocking


@dataclass(frozen=True)
class AdoptRequest:
    """What `adopt` was asked for; None means "guess from the files"."""

    root: str
    family: str | None = None
    order: Sequence[str] | None = None
    tile_size: int | None = None
    include: bool = True
    force: bool = False


class EditOps(ServiceBase):
    def adopt_root(self, request: AdoptRequest) -> MutationResult:
        """Register a folder already under assets/: its asset.json if it has one, else one
        written for its files (family from their type, artifacts sorted or as ordered)."""
        em = self.emitter()
        root = normalize_root(request.root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            _check_adoptable(self.project, registry, root)
            root_dir = self.project.root_dir(root)
            wrote = not (root_dir / ASSET_FILE).exists()
            if wrote:
                decl = _scaffold(root_dir, root, request)
                names = [a.file for a in decl.artifacts]
                files, unreadable = read_inputs(root_dir, names)
                verdict = unreadable + declaration_verdict(decl, files)
            else:
                loaded = load_asset(self.project.assets_dir, root)
                if loaded.declaration is None:
                    raise OperationError([d for d in loaded.diagnostics if d.blocking])
                decl, verdict = loaded.declaration, loaded_verdict(root_dir, loaded)
                if registry.by_uuid(decl.asset_uuid) is not None:
                    raise OperationError(
                        [error("registry.duplicate_uuid", "its asset_uuid is registered", "")]
                    )
            refuse_blocking(verdict, request.force)
            if wrote:
                write_atomic(root_dir / ASSET_FILE, pretty(decl.to_json_dict()))
            registry, new_id = registry.allocate(decl.asset_uuid, root, request.include)
            save_registry(self.project.registry_path, registry)
            entry = registry.by_id(new_id)
            assert entry is not None
            n = len(decl.artifacts)
            actions = [
                Action(
                    kind="register",
                    path=f"assets/{root}",
                    description=f"registered as asset_id {new_id}",
                )
            ]
            if wrote:
                actions.insert(
                    0,
                    Action(
                        kind="write_declaration",
                        path=f"assets/{root}/{ASSET_FILE}",
                        description=f"{decl.type} of {n} artifact{'' if n == 1 else 's'}: "
                        + ", ".join(a.file for a in decl.sorted_artifacts()),
                    ),
                )
            blocked = [d for d in verdict if d.blocking]
            summary = f"adopted {root!r} as asset {new_id} ({decl.type}, {n} artifact" + (
                "" if n == 1 else "s"
            )
            summary += ")" + ("; forced: it blocks the pack until fixed" if blocked else "")
            return applied(
                em,
                "adopt_asset",
                actions,
                [AssetRef(asset_id=new_id, root=root)],
                summary=summary,
                diagnostics=verdict,
                asset=self._summary(entry, load_asset(self.project.assets_dir, root)),
            )

        return self._mutation("adopt_asset", em, body)

    def set_asset(
        self,
        ref: str | int,
        key: str,
        values: Sequence[str],
        *,
        slot: int | None = None,
        apply: bool = False,
        force: bool = False,
    ) -> MutationResult:
        """Change one setting of an asset's declaration. Without `apply`, only a preview;
        a change that brings a new blocking problem is refused unless `force`."""
        em = self.emitter()

        def body() -> MutationResult:
            registry = self._registry_for_write()
            entry = self._resolve(registry, ref)
            root_dir = self.project.root_dir(entry.root)
            loaded = load_asset(self.project.assets_dir, entry.root)
            if loaded.declaration is None:
                raise OperationError([d for d in loaded.diagnostics if d.blocking])
            before = loaded_verdict(root_dir, loaded)
            try:
                change = edit(loaded.declaration.to_json_dict(), key, values, slot)
                decl = AssetDeclaration.model_validate(change.declaration)
            except (SettingError, ValidationError) as exc:
                raise OperationError([_setting_invalid(key, exc)]) from None
            for f in change.copy_in:
                if (root_dir / f.name).exists():
                    raise OperationError(
                        [_setting_invalid(key, f"assets/{entry.root}/{f.name} already exists")]
                    )
            incoming = {f.name for f in change.copy_in}
            files, unreadable = read_inputs(
                root_dir, [a.file for a in decl.artifacts if a.file not in incoming]
            )
            for f in change.copy_in:
                files[f.name] = f.read_bytes()
            verdict = unreadable + declaration_verdict(decl, files)
            known = {(d.code, d.path) for d in before}
            refuse_blocking([d for d in verdict if (d.code, d.path) not in known], force)
            label = f"assets/{entry.root}/{ASSET_FILE}"
            actions = [
                Action(kind="update_declaration", path=label, description=change.description)
            ]
            actions += [
                Action(
                    kind="copy_file",
                    path=str(f),
                    target=f"assets/{entry.root}/{f.name}",
                    description=f"copy {f.name} into the asset folder",
                )
                for f in change.copy_in
            ]
            refs = [AssetRef(asset_id=entry.asset_id, root=entry.root)]
            who = f"asset {entry.asset_id} ({entry.root})"
            if not apply:
                return preview(
                    em,
                    "set_asset",
                    actions,
                    refs,
                    summary=f"would set {who}: {change.description}; pass --yes to apply",
                    diagnostics=verdict,
                )
            for f in change.copy_in:
                shutil.copyfile(f, root_dir / f.name)
            write_atomic(root_dir / ASSET_FILE, pretty(decl.to_json_dict()))
            return applied(
                em,
                "set_asset",
                actions,
                refs,
                summary=f"set {who}: {change.description}",
                diagnostics=verdict,
                asset=self._summary(entry, load_asset(self.project.assets_dir, entry.root)),
            )

        return self._mutation("set_asset", em, body)


def _setting_invalid(key: str, problem: object) -> Diagnostic:
    text = str(problem)
    if isinstance(problem, ValidationError):
        text = "; ".join(e["msg"] for e in problem.errors())
    return error(
        "setting.invalid",
        f"cannot set {key}: {text}",
        "see `prometeu-packer set --help` for the settings and their values",
    )


def _check_adoptable(project: Project, registry: Registry, root: str) -> None:
    bad = root_problem(project.assets_dir, root)
    if bad is not None or root.startswith(".prometeu"):
        raise OperationError([bad or path_reserved(root)])
    holder = registry.by_root(root)
    if holder is not None:
        raise OperationError([asset_already_registered(root, holder.asset_id)])
    if not project.root_dir(root).is_dir():
        raise OperationError(
            [
                error(
                    "asset.root_missing",
                    f"assets/{root} is not a folder",
                    "put the PNG or WAV files in a folder under assets/ first, or use "
                    "`prometeu-packer new` to copy them in",
                )
            ]
        )
    nested = [
        asset_root_nested(root, e.asset_id, e.root)
        for e in registry.assets
        if root.startswith(e.root + "/") or e.root.startswith(root + "/")
    ]
    if nested:
        raise OperationError(nested)


def _scaffold(root_dir: Path, root: str, request: AdoptRequest) -> AssetDeclaration:
    """asset.json for the files in `root_dir`: family from their suffixes, sorted order."""
    present = sorted(
        p.name
        for p in root_dir.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    )
    family = _guess_family(present, request.family, root)
    candidates = [n for n in present if Path(n).suffix.lower() in family.input_suffixes]
    names = list(request.order) if request.order else candidates
    unknown = [n for n in names if n not in candidates]
    if unknown or len(set(names)) != len(names) or not names:
        raise OperationError(
            [
                error(
                    "adopt.no_files" if not names else "adopt.order_invalid",
                    f"assets/{root} has no {family.type_name} input files"
                    if not names
                    else f"--order names {', '.join(unknown) or 'a file twice'}, which is not "
                    f"one of the {'/'.join(family.input_suffixes)} files there",
                    f"files there: {', '.join(candidates) or 'none'}",
                )
            ]
        )
    options: dict[str, object] = {}
    if family.type_name == "glyph_bank":
        options["tile_size"] = request.tile_size or _guess_tile_size(root_dir / names[0])
    return AssetDeclaration(
        schema_version=ASSET_SCHEMA_VERSION,
        asset_uuid=str(uuid.uuid4()),
        name=root.rsplit("/", 1)[-1],
        type=family.type_name,
        inputs={family.input_role: names},
        artifacts=[ArtifactDecl(index=i, file=n) for i, n in enumerate(names)],
        output=family.scaffold_output(ScaffoldRequest(names, options)),
        preload=PreloadDecl(enabled=False),
    )


def _guess_family(names: list[str], wanted: str | None, root: str) -> Family:
    if wanted is not None:
        family = get_family(wanted)
        if family is None:
            raise OperationError(
                [error("declaration.unknown_family", f"{wanted!r} is not a family", "")]
            )
        return family
    found = [
        f
        for f in FAMILIES.values()
        if any(Path(n).suffix.lower() in f.input_suffixes for n in names)
    ]
    if len(found) == 1:
        return found[0]
    what = "both PNG and WAV files" if found else "no PNG or WAV files"
    raise OperationError(
        [
            error(
                "adopt.family_unknown" if found else "adopt.no_files",
                f"assets/{root} holds {what}",
                "pass --family glyph_bank or --family sound_bank"
                if found
                else "put the art (PNG) or sound (WAV) files in the folder first",
            )
        ]
    )


def _guess_tile_size(first: Path) -> int:
    """The first tile's width when it is a valid tile size, else 16."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(first) as img:
            width = img.size[0]
    except (OSError, UnidentifiedImageError):
        return 16
    return width if width in (8, 16, 32) else 16
