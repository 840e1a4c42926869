"""The per-project service: every operation of SPEC §6 as a method with a pydantic result.

Front ends (CLI, doit, an editor) call these and render the results and events; they never
re-derive packer semantics. Mutations run inside the project's write lane and re-read the
registry there, so a preview computed earlier can never be applied against stale state.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cache.store import CacheStore

from .artifact.staging import RecoveryReport, recover
from .canonical_json import pretty
from .config import CacheConfig, resolve_cache
from .events.sink import EventSink, NullSink, OperationEmitter
from .families import get_family
from .families.base import ScaffoldRequest
from .models.declaration import (
    ASSET_FILE,
    ASSET_SCHEMA_VERSION,
    ArtifactDecl,
    AssetDeclaration,
    PreloadDecl,
)
from .models.diagnostic import Diagnostic, any_blocking, error
from .models.event import AssetRef, EventKind
from .models.registry import Registry, RegistryEntry
from .models.results import (
    Action,
    AssetDetails,
    AssetDetailsResult,
    AssetSummary,
    CacheResult,
    DoctorResult,
    ExplainResult,
    InputInfo,
    ListAssetsResult,
    MutationResult,
    OperationResult,
    PackResult,
    PackSummaryResult,
    RuntimeState,
    Status,
    SummaryEntry,
    ValidatePackResult,
    ValidationEntry,
)
from .pipeline.explain import describe_changes, previous_material
from .pipeline.gate import content_diagnostics, structural_gate
from .pipeline.pack import run_pack
from .pipeline.session import BuildSession
from .runtime import ProjectRuntime
from .workspace import journal
from .workspace.atomic import write_atomic
from .workspace.declarations import LoadedAsset, load_asset
from .workspace.lane import LaneBusy, read_lane, write_lane
from .workspace.paths import normalize_root, relative_path_problem
from .workspace.project import Project
from .workspace.registry_store import load_registry, save_registry
from .workspace.snapshot import RegisteredAsset, WorkspaceSnapshot, take_snapshot

# Packer-owned state kept beside the registry; never committed.
PACKER_STATE_IGNORES = b".write.lock*\n.digests.sqlite*\n.relocation.json\n"


class OperationError(Exception):
    """A mutation that cannot proceed; carries the blocking diagnostics for the result."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = list(diagnostics)


def parse_ref(ref: str | int) -> str | int:
    """CLI addressing: a number is an asset_id, anything else a root relative to assets/."""
    if isinstance(ref, int):
        return ref
    text = ref.strip()
    return int(text) if text.isdigit() else normalize_root(text)


class PackerService:
    """One project's packer. Construct with the host's event sink to receive its events."""

    def __init__(
        self,
        project: Project,
        sink: EventSink | None = None,
        lane_timeout: float = 120.0,
        cache: CacheConfig | None = None,
    ) -> None:
        self.project = project
        self.sink: EventSink = sink if sink is not None else NullSink()
        self.lane_timeout = lane_timeout
        self.cache_config = cache if cache is not None else resolve_cache(project)
        self._runtime_emitter = OperationEmitter(self.sink, project.project_id)
        self.runtime = ProjectRuntime(project, notify=self._on_runtime_state)

    def _on_runtime_state(self, old: RuntimeState, new: RuntimeState, why: str) -> None:
        self._runtime_emitter.emit(
            EventKind.RUNTIME_STATE_CHANGED,
            f"runtime {old.value} → {new.value}: {why}",
            data={"from": old.value, "to": new.value},
        )

    # -- plumbing -----------------------------------------------------------------------

    def emitter(self) -> OperationEmitter:
        return OperationEmitter(self.sink, self.project.project_id)

    def snapshot(self, *, scan: bool = False) -> WorkspaceSnapshot:
        """The current view for reads: the runtime's snapshot, or a fresh workspace scan."""
        if not scan:
            return self.runtime.snapshot()
        with read_lane(self.project.lock_path, self.lane_timeout):
            return take_snapshot(self.project, scan=True)

    def lane(self) -> Any:
        return write_lane(self.project.lock_path, self.lane_timeout)

    def _recover_workspace(self) -> None:
        """Finish what a killed mutation left half-done (call inside the write lane)."""
        if journal.journal_path(self.project).exists():
            journal.recover(self.project, load_registry(self.project.registry_path)[0])
        # A writer killed mid-write leaves its temp file; we hold the lane, so none is live.
        for tmp in self.project.meta_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def _registry_for_write(self) -> Registry:
        registry, diags = load_registry(self.project.registry_path)
        blocking = [d for d in diags if d.blocking]
        if registry is None or blocking:
            raise OperationError(blocking or diags)
        return registry

    def _resolve(self, registry: Registry, ref: str | int) -> RegistryEntry:
        key = parse_ref(ref)
        entry = registry.by_id(key) if isinstance(key, int) else registry.by_root(key)
        if entry is None:
            raise OperationError(
                [
                    error(
                        "asset.not_registered",
                        f"no registered asset is addressed by {ref!r}",
                        "use `prometeu-packer list` to see ids and roots",
                    )
                ]
            )
        return entry

    def _finish(self, em: OperationEmitter, result: OperationResult) -> OperationResult:
        result.runtime_state = self.runtime.state
        refs = result.affected_assets
        if result.status is Status.PREVIEW:
            em.emit(EventKind.PREVIEW_READY, result.summary, assets=refs)
        elif result.status is Status.SUCCESS:  # also when nothing needed changing
            em.emit(
                EventKind.ACTION_APPLIED,
                result.summary,
                assets=refs,
                data={"changed": bool(result.applied_actions)},
            )
        else:
            em.emit(EventKind.ACTION_FAILED, result.summary, assets=refs)
        return result

    def _mutation(self, operation: str, em: OperationEmitter, body: Any) -> MutationResult:
        """Run `body()` in the write lane; OperationError becomes a blocked result."""
        try:
            with self.lane():
                self.runtime.committing()
                ok = False
                try:
                    self._recover_workspace()
                    result: MutationResult = body()
                    ok = True
                except OperationError:
                    ok = True  # refused before writing anything
                    raise
                finally:
                    self.runtime.committed(ok)
        except LaneBusy as exc:
            diag = error("lane.busy", str(exc), "wait for the other packer command to finish")
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        except OperationError as exc:
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.BLOCKED,
                summary=f"{operation} refused: {exc.diagnostics[0].message}",
                diagnostics=exc.diagnostics,
                blockers=exc.diagnostics,
            )
        except OSError as exc:
            diag = error(
                "io.failed",
                f"{operation} failed: {exc.strerror or exc} ({exc.filename or ''})",
                "check free space and permissions",
            )
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        self._finish(em, result)
        return result

    # -- workspace --------------------------------------------------------------------

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
                from .families import FAMILIES

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
                return MutationResult(
                    operation="relocate_asset",
                    operation_id=em.operation_id,
                    status=Status.PREVIEW,
                    proposed_actions=actions,
                    affected_assets=refs,
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
                return MutationResult(
                    operation="remove_asset",
                    operation_id=em.operation_id,
                    status=Status.PREVIEW,
                    proposed_actions=actions,
                    affected_assets=refs,
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

    # -- reads --------------------------------------------------------------------------

    def _summary(self, entry: RegistryEntry | None, loaded: LoadedAsset) -> AssetSummary:
        decl = loaded.declaration
        return AssetSummary(
            asset_id=entry.asset_id if entry else None,
            asset_uuid=entry.asset_uuid if entry else (decl.asset_uuid if decl else None),
            root=loaded.root,
            name=decl.name if decl else None,
            family=decl.type if decl else None,
            registered=entry is not None,
            included_in_build=bool(entry and entry.included_in_build),
            artifact_count=len(decl.artifacts) if decl else 0,
            blocking=any_blocking(loaded.diagnostics),
        )

    def list_assets(self) -> ListAssetsResult:
        """Registered and unregistered roots, with build status."""
        em = self.emitter()
        snap = self.snapshot(scan=True)
        rows = [self._summary(a.entry, a.loaded) for a in snap.registered]
        rows += [self._summary(None, u) for u in snap.unregistered or ()]
        for u in snap.unregistered or ():
            em.emit(
                EventKind.ASSET_DISCOVERED,
                f"unregistered asset root {u.root}",
                assets=[AssetRef(root=u.root)],
            )
        n_reg = len(snap.registered)
        n_in = len(snap.build_set())
        status = Status.SUCCESS if snap.registry is not None else Status.FAILED
        return ListAssetsResult(
            runtime_state=self.runtime.state,
            operation="list_assets",
            operation_id=em.operation_id,
            status=status,
            summary=f"{n_reg} registered ({n_in} in the build), "
            f"{len(snap.unregistered or ())} unregistered",
            diagnostics=list(snap.registry_diagnostics),
            blockers=[d for d in snap.registry_diagnostics if d.blocking],
            assets=rows,
        )

    def get_asset_details(self, ref: str | int) -> AssetDetailsResult:
        em = self.emitter()
        snap = self.snapshot()
        key = parse_ref(ref)
        found: RegisteredAsset | None = snap.find(key)
        entry = found.entry if found else None
        if found is not None:
            loaded = found.loaded
        elif (
            isinstance(key, str)
            and relative_path_problem(key, "asset root") is None
            and (self.project.root_dir(key) / ASSET_FILE).exists()
        ):
            loaded = load_asset(self.project.assets_dir, key)
        else:
            diag = error(
                "asset.not_found",
                f"no asset is addressed by {ref!r}",
                "use `prometeu-packer list` to see ids and roots",
            )
            return AssetDetailsResult(
                runtime_state=self.runtime.state,
                operation="get_asset_details",
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        decl = loaded.declaration
        sizes = {f.rel: f.size for f in loaded.inputs}
        inputs: list[InputInfo] = []
        if decl is not None:
            for rel in decl.input_files():
                roles = [r for r, paths in decl.inputs.items() if rel in paths]
                inputs.append(
                    InputInfo(file=rel, roles=roles, size=sizes.get(rel), exists=rel in sizes)
                )
        base = self._summary(entry, loaded)
        details = AssetDetails(
            **base.model_dump(),
            declaration=decl.to_json_dict() if decl else None,
            inputs=inputs,
            output=decl.output.model_dump(mode="json") if decl else None,
            preload=decl.preload.model_dump(mode="json", exclude_none=True) if decl else None,
            last_modified=loaded.last_modified_ms,
        )
        return AssetDetailsResult(
            runtime_state=self.runtime.state,
            operation="get_asset_details",
            operation_id=em.operation_id,
            status=Status.SUCCESS,
            summary=f"{loaded.root}: {base.family or 'unreadable'}, "
            f"{base.artifact_count} artifact(s)" + (", blocked" if base.blocking else ""),
            affected_assets=[AssetRef(asset_id=base.asset_id, root=loaded.root)],
            diagnostics=list(loaded.diagnostics),
            blockers=[d for d in loaded.diagnostics if d.blocking],
            asset=details,
        )

    # -- build --------------------------------------------------------------------------

    def pack(self) -> PackResult:
        """Build `build/assets.pa` and its companions (SPEC §8) inside the write lane."""
        em = self.emitter()
        self.runtime.check()  # an edit behind our snapshot is reported, not hidden
        with self.lane(), BuildSession(self.project, self.cache_config, em) as session:
            if journal.journal_path(self.project).exists():
                self.runtime.committing()
                self._recover_workspace()
                self.runtime.committed()
            result = run_pack(self.project, session, em)
        result.runtime_state = self.runtime.state
        return result

    def recover(self) -> RecoveryReport:
        """Finish what a killed packer left behind: a half-promoted build (rolled forward
        or discarded) and a half-done relocation. Every CLI command runs this first."""
        staging = (self.project.build_dir / ".staging").exists()
        if not staging and not journal.journal_path(self.project).exists():
            return RecoveryReport([], [])
        with self.lane():
            self._recover_workspace()
            return recover(self.project.build_dir)

    def validate_pack(self) -> ValidatePackResult:
        """The pack gate: every build-set asset with blocking diagnostics (decoding included)."""
        em = self.emitter()
        snap = self.snapshot()
        gate = structural_gate(snap)
        with BuildSession(self.project, self.cache_config, em) as session:
            for d in content_diagnostics(snap.build_set(), session.materializer, em):
                gate.add(d.asset_id or 0, [d])
        rows: list[ValidationEntry] = []
        by_id = {a.entry.asset_id: a for a in snap.registered}
        for asset_id, diags in sorted(gate.by_asset.items()):
            asset = by_id.get(asset_id)
            decl = asset.loaded.declaration if asset else None
            rows.append(
                ValidationEntry(
                    asset_id=asset_id or None,
                    name=decl.name if decl else None,
                    root=asset.entry.root if asset else "assets/.prometeu/index.json",
                    last_modified=asset.loaded.last_modified_ms if asset else 0,
                    diagnostics=diags,
                )
            )
        green = not rows
        n = len(snap.build_set())
        em.emit(
            EventKind.DIAGNOSTICS_UPDATED,
            f"validated {n} asset(s)",
            data={"blocked_assets": len(rows)},
        )
        return ValidatePackResult(
            runtime_state=self.runtime.state,
            operation="validate_pack",
            operation_id=em.operation_id,
            status=Status.SUCCESS if green else Status.BLOCKED,
            green=green,
            assets=rows,
            summary=(
                f"all {n} build-set asset(s) can be packed"
                if green
                else f"{len(rows)} of {n} build-set asset(s) block the pack"
            ),
            diagnostics=gate.all(),
            blockers=gate.all(),
        )

    def pack_summary(self) -> PackSummaryResult:
        """The build set at a glance, from the snapshot only (no PNG/WAV decoding)."""
        em = self.emitter()
        snap = self.snapshot()
        rows: list[SummaryEntry] = []
        for asset in snap.build_set():
            decl = asset.loaded.declaration
            family = get_family(decl.type) if decl else None
            rows.append(
                SummaryEntry(
                    asset_id=asset.entry.asset_id,
                    name=decl.name if decl else asset.entry.root,
                    family=decl.type if decl else "unknown",
                    min_artifact_count=family.min_artifacts if family else 0,
                    max_artifact_count=family.max_artifacts(decl) if family else 0,
                    last_modified=asset.loaded.last_modified_ms,
                )
            )
        registry_blocked = any_blocking(snap.registry_diagnostics)
        return PackSummaryResult(
            runtime_state=self.runtime.state,
            operation="pack_summary",
            operation_id=em.operation_id,
            status=Status.BLOCKED if registry_blocked else Status.SUCCESS,
            summary=f"{len(rows)} asset(s) in the build set",
            total=len(rows),
            assets=rows,
            diagnostics=list(snap.registry_diagnostics),
            blockers=[d for d in snap.registry_diagnostics if d.blocking],
        )

    # -- cache ----------------------------------------------------------------------------

    def _cache_result(self, operation: str, summary: str, **kw: Any) -> CacheResult:
        cfg = self.cache_config
        return CacheResult(
            operation=operation,
            operation_id=self.emitter().operation_id,
            status=Status.SUCCESS,
            summary=summary,
            directory=str(cfg.directory) if cfg.directory else None,
            source=cfg.source,
            **kw,
        )

    def _cache_store(self) -> CacheStore | None:
        d = self.cache_config.directory
        return CacheStore(d, size_limit=self.cache_config.size_limit) if d else None

    def _cache_op(
        self, operation: str, act: Callable[[CacheStore], tuple[str, dict[str, Any]]]
    ) -> CacheResult:
        """Run one maintenance action on the store; every result reports its occupancy."""
        store = self._cache_store()
        if store is None:
            return self._cache_result(operation, "caching is disabled")
        with store:
            summary, fields = act(store)
            st = store.stats()
        fields.setdefault("recovered", st.recovered)
        return self._cache_result(
            operation,
            summary,
            entries=st.entries,
            volume_bytes=st.volume_bytes,
            size_limit=st.size_limit,
            **fields,
        )

    def cache_stats(self) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            st = store.stats()
            return (
                f"{st.entries} entr(ies), {st.volume_bytes} bytes of {st.size_limit} "
                f"in {st.directory}",
                {},
            )

        return self._cache_op("cache_stats", act)

    def cache_verify(self) -> CacheResult:
        """Re-check every entry; corrupt ones are evicted and reported."""

        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            rep = store.verify()
            return (
                f"checked {rep.checked} entr(ies): {rep.valid} valid, {rep.evicted} "
                "corrupt and evicted",
                {
                    "checked": rep.checked,
                    "evicted": rep.evicted,
                    "evicted_keys": rep.evicted_keys,
                    "recovered": rep.recovered,
                },
            )

        return self._cache_op("cache_verify", act)

    def cache_prune(self, max_size: int | None, older_than_seconds: int | None) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            rep = store.prune(max_size=max_size, older_than_seconds=older_than_seconds)
            return (
                f"evicted {rep.evicted} entr(ies): {rep.volume_before} → {rep.volume_after} bytes",
                {"evicted": rep.evicted},
            )

        return self._cache_op("cache_prune", act)

    def cache_clear(self) -> CacheResult:
        def act(store: CacheStore) -> tuple[str, dict[str, Any]]:
            n = store.clear()
            return f"removed {n} entr(ies)", {"evicted": n}

        return self._cache_op("cache_clear", act)

    def explain(self, ref: str | int) -> ExplainResult:
        """Why ASSET would re-materialize: which key component changed since the last pack."""
        em = self.emitter()
        snap = self.snapshot()
        asset = snap.find(parse_ref(ref))
        if asset is None or asset.loaded.declaration is None or any_blocking(asset.diagnostics):
            diags = (
                list(asset.diagnostics)
                if asset
                else [
                    error(
                        "asset.not_registered",
                        f"no registered asset is addressed by {ref!r}",
                        "use `prometeu-packer list` to see ids and roots",
                    )
                ]
            )
            return ExplainResult(
                runtime_state=self.runtime.state,
                operation="explain",
                operation_id=em.operation_id,
                status=Status.BLOCKED,
                diagnostics=diags,
                blockers=[d for d in diags if d.blocking],
                summary=f"{ref}: cannot be keyed until its blocking problems are fixed"
                if asset
                else diags[0].message,
            )
        with BuildSession(self.project, self.cache_config, em) as session:
            key, material = session.materializer.cache_key_of(asset)
            cached = bool(session.cache and session.cache.get(key).hit)
        prev_key, prev_material = previous_material(self.project.build_dir, asset.entry.asset_id)
        if prev_material is None:
            changes = ["no previous build of this asset is recorded in build/"]
        elif prev_key == key:
            changes = []
        else:
            changes = describe_changes(prev_material, material) or ["cache key recipe changed"]
        would = not cached
        root = asset.entry.root
        if not changes and cached:
            summary = f"{root}: up to date (key unchanged since the last pack, entry cached)"
        elif cached:
            summary = f"{root}: changed since the last pack, but this exact state is cached"
        else:
            summary = f"{root}: would re-materialize ({'; '.join(changes) or 'not in cache'})"
        return ExplainResult(
            runtime_state=self.runtime.state,
            operation="explain",
            operation_id=em.operation_id,
            status=Status.SUCCESS,
            summary=summary,
            affected_assets=[AssetRef(asset_id=asset.entry.asset_id, root=root)],
            would_rebuild=would,
            cache_key=key,
            previous_cache_key=prev_key,
            cached=cached,
            changes=changes,
        )

    # -- doctor and hygiene (implemented in packer_tasks/doctor/) ------------------------

    def doctor(self, *, workspace: bool = False) -> DoctorResult:
        """Diagnose the registered world (or, with `workspace`, all of assets/)."""
        from .doctor import run_doctor

        return run_doctor(self, workspace=workspace)

    def doctor_fix(self, *, apply: bool = False, workspace: bool = False) -> DoctorResult:
        """Preview (or, with `apply`, apply in the write lane) the safe mechanical fixes."""
        from .doctor import run_fixes

        return run_fixes(self, apply=apply, workspace=workspace)

    def quarantine_asset(self, ref: str | int, *, apply: bool = False) -> MutationResult:
        """Move a root into assets/.prometeu/quarantine/, reversibly; excluded from builds."""
        from .doctor.quarantine import quarantine

        return quarantine(self, ref, apply=apply)

    def restore_asset(self, ref: str, *, apply: bool = False) -> MutationResult:
        """Bring a quarantined root back byte-for-byte, with its identity."""
        from .doctor.quarantine import restore

        return restore(self, ref, apply=apply)
