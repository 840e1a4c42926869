"""Workspace and registry mutations of SPEC §6: init, create, register, include/exclude,
relocate, remove. Each runs in the write lane and re-reads the registry there."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..canonical_json import pretty
from ..families import get_family
from ..families.base import ScaffoldRequest
from ..models.declaration import (
    ASSET_FILE,
    ASSET_SCHEMA_VERSION,
    ArtifactDecl,
    AssetDeclaration,
    PreloadDecl,
)
from ..models.diagnostic import Diagnostic, error
from ..models.event import AssetRef
from ..models.registry import Registry, RegistryEntry
from ..models.results import (
    Action,
    MutationResult,
    Status,
)
from ..workspace import journal
from ..workspace.atomic import write_atomic
from ..workspace.declarations import load_asset
from ..workspace.paths import normalize_root, relative_path_problem
from ..workspace.registry_store import save_registry
from .base import PACKER_STATE_IGNORES, OperationError, ServiceBase, preview


class WorkspaceOps(ServiceBase):
    def init_workspace(self) -> MutationResult:
        """Create `assets/.prometeu/index.json` if missing; running it twice changes nothing."""
        em = self.emitter()

        def body() -> MutationResult:
            path = self.project.registry_path
            applied: list[Action] = []
            if not path.exists():
                save_registry(path, Registry())
                applied.append(
                    Action(
                        kind="create_registry",
                        path="assets/.prometeu/index.json",
                        description="created an empty registry",
                    )
                )
            gitignore = self.project.meta_dir / ".gitignore"
            if not gitignore.exists():
                write_atomic(gitignore, PACKER_STATE_IGNORES)
            summary = (
                "initialized an empty packer workspace"
                if applied
                else "workspace already initialized; nothing changed"
            )
            return MutationResult(
                operation="init_workspace",
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                summary=summary,
                applied_actions=applied,
            )

        self.project.meta_dir.mkdir(parents=True, exist_ok=True)
        return self._mutation("init_workspace", em, body)

    def create_asset(
        self,
        family_name: str,
        root: str,
        files: Sequence[Path],
        options: dict[str, Any] | None = None,
        *,
        include: bool = True,
        preload: bool = False,
        slot: int | None = None,
        name: str | None = None,
    ) -> MutationResult:
        """Scaffold a root from PNG/WAV files (copied in, artifacts in the order given)."""
        em = self.emitter()
        root = normalize_root(root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            family = get_family(family_name)
            problems: list[Diagnostic] = []
            if family is None:
                from ..families import FAMILIES

                raise OperationError(
                    [
                        error(
                            "declaration.unknown_family",
                            f"{family_name!r} is not a known family",
                            f"use one of {sorted(FAMILIES)}",
                        )
                    ]
                )
            bad_root = relative_path_problem(root, "asset root")
            if bad_root is not None or root.startswith(".prometeu"):
                raise OperationError(
                    [
                        bad_root
                        or error(
                            "path.reserved",
                            "assets/.prometeu is reserved for the packer",
                            "choose another root",
                        )
                    ]
                )
            target = self.project.root_dir(root)
            if target.exists() and any(target.iterdir()):
                raise OperationError(
                    [
                        error(
                            "asset.root_exists",
                            f"assets/{root} already exists and is not empty",
                            "choose a new root, or `register` the existing one",
                        )
                    ]
                )
            if registry.by_root(root):
                raise OperationError(
                    [error("asset.already_registered", f"{root!r} is already registered", "")]
                )
            names = [Path(f).name for f in files]
            for f in files:
                if not Path(f).is_file():
                    problems.append(
                        error(
                            "input.missing",
                            f"{f} is not a file",
                            "pass existing PNG/WAV files",
                            path=str(f),
                        )
                    )
                elif Path(f).suffix.lower() not in family.input_suffixes:
                    problems.append(
                        error(
                            "input.wrong_type",
                            f"{f} is not a {'/'.join(family.input_suffixes)} file",
                            f"a {family.type_name} takes {'/'.join(family.input_suffixes)} files",
                            path=str(f),
                        )
                    )
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(
                    error(
                        "input.duplicate_name",
                        f"several files are named {dupes}",
                        "rename them so each file name is unique",
                    )
                )
            if not files:
                problems.append(
                    error("artifact.none", "no input files given", "pass at least one file")
                )
            if problems:
                raise OperationError(problems)
            output = family.scaffold_output(ScaffoldRequest(names, options or {}))
            decl = AssetDeclaration(
                schema_version=ASSET_SCHEMA_VERSION,
                asset_uuid=str(uuid.uuid4()),
                name=name or root.rsplit("/", 1)[-1],
                type=family.type_name,
                inputs={family.input_role: names},
                artifacts=[ArtifactDecl(index=i, file=n) for i, n in enumerate(names)],
                output=output,
                preload=PreloadDecl(enabled=preload, slot=slot),
            )
            created = not target.exists()
            try:
                target.mkdir(parents=True, exist_ok=True)
                for f, n in zip(files, names, strict=True):
                    shutil.copyfile(f, target / n)
                write_atomic(target / ASSET_FILE, pretty(decl.to_json_dict()))
                registry, new_id = registry.allocate(decl.asset_uuid, root, include)
                save_registry(self.project.registry_path, registry)
            except BaseException:
                if created:
                    shutil.rmtree(target, ignore_errors=True)
                raise
            loaded = load_asset(self.project.assets_dir, root)
            ref = AssetRef(asset_id=new_id, root=root)
            return MutationResult(
                operation="create_asset",
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                summary=f"created {family.type_name} {root!r} as asset {new_id} with "
                f"{len(names)} artifact(s)",
                affected_assets=[ref],
                diagnostics=list(loaded.diagnostics),
                applied_actions=[
                    Action(
                        kind="create_root",
                        path=f"assets/{root}",
                        description=f"copied {len(names)} file(s) and wrote {ASSET_FILE}",
                    ),
                    Action(
                        kind="register",
                        path=f"assets/{root}",
                        description=f"registered as asset_id {new_id}",
                    ),
                ],
                asset=self._summary(
                    RegistryEntry(
                        asset_id=new_id,
                        asset_uuid=decl.asset_uuid,
                        included_in_build=include,
                        root=root,
                    ),
                    loaded,
                ),
            )

        return self._mutation("create_asset", em, body)

    def register_asset(self, root: str, *, include: bool = True) -> MutationResult:
        """Register an existing root under a fresh, never-reused asset_id."""
        em = self.emitter()
        root = normalize_root(root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            bad = relative_path_problem(root, "asset root")
            if bad is not None:
                raise OperationError([bad])
            # The same safe read as every other load: no escaping links, no FIFOs.
            found = load_asset(self.project.assets_dir, root)
            decl = found.declaration
            if decl is None:
                raise OperationError([d for d in found.diagnostics if d.blocking])
            if registry.by_root(root) is not None:
                raise OperationError(
                    [
                        error(
                            "asset.already_registered",
                            f"{root!r} is already registered as asset "
                            f"{registry.by_root(root).asset_id}",  # type: ignore[union-attr]
                            "nothing to do",
                        )
                    ]
                )
            other = registry.by_uuid(decl.asset_uuid)
            if other is not None:
                raise OperationError(
                    [
                        error(
                            "registry.duplicate_uuid",
                            f"asset_uuid {decl.asset_uuid} already belongs to asset "
                            f"{other.asset_id} at {other.root!r}",
                            "if this is a copy, give it a new asset_uuid; if the asset moved, use "
                            "`prometeu-packer relocate`",
                        )
                    ]
                )
            registry, new_id = registry.allocate(decl.asset_uuid, root, include)
            save_registry(self.project.registry_path, registry)
            loaded = load_asset(self.project.assets_dir, root)
            entry = registry.by_id(new_id)
            assert entry is not None
            return MutationResult(
                operation="register_asset",
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                summary=f"registered {root!r} as asset {new_id}",
                affected_assets=[AssetRef(asset_id=new_id, root=root)],
                diagnostics=list(loaded.diagnostics),
                applied_actions=[
                    Action(
                        kind="register",
                        path=f"assets/{root}",
                        description=f"registered as asset_id {new_id}",
                    )
                ],
                asset=self._summary(entry, loaded),
            )

        return self._mutation("register_asset", em, body)

    adopt_asset = register_asset

    def include_asset_in_build(self, ref: str | int) -> MutationResult:
        return self._set_included(ref, True)

    def exclude_asset_from_build(self, ref: str | int) -> MutationResult:
        return self._set_included(ref, False)

    def _set_included(self, ref: str | int, included: bool) -> MutationResult:
        em = self.emitter()
        op = "include_asset_in_build" if included else "exclude_asset_from_build"

        def body() -> MutationResult:
            registry = self._registry_for_write()
            entry = self._resolve(registry, ref)
            applied: list[Action] = []
            if entry.included_in_build != included:
                registry = registry.with_entry(
                    entry.model_copy(update={"included_in_build": included})
                )
                save_registry(self.project.registry_path, registry)
                applied.append(
                    Action(
                        kind="set_included",
                        path=f"assets/{entry.root}",
                        description=("included in" if included else "excluded from") + " the build",
                    )
                )
            word = "included in" if included else "excluded from"
            summary = (
                f"asset {entry.asset_id} ({entry.root}) {word} the build"
                if applied
                else f"asset {entry.asset_id} was already {word} the build"
            )
            new_entry = registry.by_id(entry.asset_id)
            assert new_entry is not None
            return MutationResult(
                operation=op,
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                summary=summary,
                applied_actions=applied,
                affected_assets=[AssetRef(asset_id=entry.asset_id, root=entry.root)],
                asset=self._summary(new_entry, load_asset(self.project.assets_dir, entry.root)),
            )

        return self._mutation(op, em, body)

    def relocate_asset(
        self, ref: str | int, new_root: str, *, apply: bool = False
    ) -> MutationResult:
        """Move a root and keep both ids. Without `apply`, only a preview."""
        em = self.emitter()
        new_root = normalize_root(new_root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            entry = self._resolve(registry, ref)
            problems: list[Diagnostic] = []
            bad = relative_path_problem(new_root, "new root")
            bad_src = relative_path_problem(entry.root, "registry root")
            if bad_src is not None:  # never pull a folder from outside assets/ into it
                problems.append(bad_src.model_copy(update={"code": "registry.root_invalid"}))
            if bad is not None:
                problems.append(bad)
            src = self.project.root_dir(entry.root)
            dst = self.project.root_dir(new_root)
            if not src.is_dir():
                problems.append(
                    error(
                        "asset.root_missing",
                        f"assets/{entry.root} does not exist, so there is nothing to move",
                        "",
                    )
                )
            if bad is None and (dst.exists() or registry.by_root(new_root)):
                problems.append(
                    error(
                        "asset.root_exists",
                        f"assets/{new_root} already exists",
                        "choose a free destination",
                    )
                )
            if bad is None and (
                new_root.startswith(".prometeu") or new_root.startswith(entry.root + "/")
            ):
                problems.append(
                    error(
                        "path.reserved",
                        f"cannot move into {new_root!r}",
                        "choose a destination outside the asset and .prometeu",
                    )
                )
            for other in registry.assets:
                if other.asset_id != entry.asset_id and (
                    new_root.startswith(other.root + "/") or other.root.startswith(new_root + "/")
                ):
                    problems.append(
                        error(
                            "asset.root_nested",
                            f"{new_root!r} would nest with asset "
                            f"{other.asset_id} at {other.root!r}",
                            "asset roots cannot contain one another",
                        )
                    )
            if problems:
                raise OperationError(problems)
            actions = [
                Action(
                    kind="move_root",
                    path=f"assets/{entry.root}",
                    target=f"assets/{new_root}",
                    description=f"move the folder to assets/{new_root}",
                ),
                Action(
                    kind="update_registry",
                    path="assets/.prometeu/index.json",
                    description=f"asset {entry.asset_id} root → {new_root}",
                ),
            ]
            refs = [AssetRef(asset_id=entry.asset_id, root=new_root)]
            if not apply:
                return preview(
                    em,
                    "relocate_asset",
                    actions,
                    refs,
                    summary=f"would move asset {entry.asset_id} from {entry.root!r} to "
                    f"{new_root!r} (ids kept); pass --yes to apply",
                )
            journal.begin(self.project, entry.asset_id, entry.root, new_root)
            try:
                journal.copy_root(src, dst)
                save_registry(
                    self.project.registry_path,
                    registry.with_entry(entry.model_copy(update={"root": new_root})),
                )
            except Exception:  # nothing switched: drop our copy, the old root stands
                journal.remove_root(dst, self.project.assets_dir)
                journal.end(self.project)
                raise
            journal.remove_root(src, self.project.assets_dir)
            journal.end(self.project)
            new_entry = entry.model_copy(update={"root": new_root})
            return MutationResult(
                operation="relocate_asset",
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                applied_actions=actions,
                affected_assets=refs,
                summary=f"moved asset {entry.asset_id} to {new_root!r}; asset_id and "
                "asset_uuid unchanged",
                asset=self._summary(new_entry, load_asset(self.project.assets_dir, new_root)),
            )

        return self._mutation("relocate_asset", em, body)

    def remove_asset(
        self, ref: str | int, *, delete_files: bool = False, apply: bool = True
    ) -> MutationResult:
        """Drop the registry entry (its id is never reused). Deleting files needs consent."""
        em = self.emitter()

        def body() -> MutationResult:
            registry = self._registry_for_write()
            entry = self._resolve(registry, ref)
            actions = [
                Action(
                    kind="unregister",
                    path="assets/.prometeu/index.json",
                    description=f"remove asset {entry.asset_id} from the registry "
                    "(its id is retired, never reused)",
                )
            ]
            if delete_files:
                actions.append(
                    Action(
                        kind="delete_root",
                        path=f"assets/{entry.root}",
                        description="delete the asset folder and its files",
                    )
                )
            refs = [AssetRef(asset_id=entry.asset_id, root=entry.root)]
            bad_root = relative_path_problem(entry.root, "registry root")
            if delete_files and bad_root is not None:
                raise OperationError(
                    [
                        bad_root.model_copy(
                            update={
                                "hint": "the packer never deletes outside assets/; remove the "
                                "entry without --delete-files"
                            }
                        )
                    ]
                )
            if not apply:
                return preview(
                    em,
                    "remove_asset",
                    actions,
                    refs,
                    summary=f"would remove asset {entry.asset_id} ({entry.root})"
                    + (" and delete its files" if delete_files else "")
                    + "; pass --yes to apply",
                )
            save_registry(self.project.registry_path, registry.without(entry.asset_id))
            if delete_files:
                journal.remove_root(self.project.root_dir(entry.root), self.project.assets_dir)
            return MutationResult(
                operation="remove_asset",
                operation_id=em.operation_id,
                status=Status.SUCCESS,
                applied_actions=actions,
                affected_assets=refs,
                summary=f"removed asset {entry.asset_id} ({entry.root}) from the registry"
                + (
                    "; its files were deleted"
                    if delete_files
                    else "; its files stay on disk (unregistered)"
                ),
            )

        return self._mutation("remove_asset", em, body)
