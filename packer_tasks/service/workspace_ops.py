"""Workspace and registry mutations of SPEC §6: init, create, register, include/exclude,
relocate, remove. Each runs in the write lane and re-reads the registry there.

An operation is a plan and an apply. The `_plan_*` functions at the bottom read the
registry (and stat or read the files it names) and return what would change, or raise
OperationError with the diagnostics that refuse it; they never write, so a preview is a
plan. The apply step, run only with consent and inside the same write lane, does the I/O.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifact.staging import crashpoint
from ..canonical_json import pretty
from ..events.sink import OperationEmitter
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
    artifact_none,
    asset_already_registered,
    asset_root_exists,
    asset_root_missing,
    asset_root_nested,
    declaration_unknown_family,
    input_missing,
    input_unreadable,
    path_reserved,
    registry_duplicate_uuid,
)
from ..models.event import AssetRef
from ..models.registry import Registry, RegistryEntry
from ..models.results import Action, MutationResult
from ..workspace import journal
from ..workspace.atomic import write_atomic
from ..workspace.declarations import load_asset
from ..workspace.paths import normalize_root, relative_path_problem, root_problem
from ..workspace.project import Project
from ..workspace.registry_store import save_registry
from .asset_checks import declaration_verdict
from .base import PACKER_STATE_IGNORES, OperationError, ServiceBase, applied, preview


class WorkspaceOps(ServiceBase):
    def init_workspace(self) -> MutationResult:
        """Create `assets/.prometeu/index.json` if missing, plus what a game repo needs
        (`dodo.py`, ignore rules for build outputs); running it twice changes nothing."""
        em = self.emitter()

        def body() -> MutationResult:
            path = self.project.registry_path
            actions: list[Action] = []
            if not path.exists():
                save_registry(path, Registry())
                actions.append(
                    Action(
                        kind="create_registry",
                        path="assets/.prometeu/index.json",
                        description="created an empty registry",
                    )
                )
            else:
                self._registry_for_write()  # a broken registry is reported, not built upon
            gitignore = self.project.meta_dir / ".gitignore"
            if not gitignore.exists():
                write_atomic(gitignore, PACKER_STATE_IGNORES)
            actions += _scaffold_game_repo(self.project)
            if actions and actions[0].kind == "create_registry":
                summary = "initialized an empty packer workspace"
            elif actions:
                summary = "workspace already initialized; added " + ", ".join(
                    a.path or "" for a in actions
                )
            else:
                summary = "workspace already initialized; nothing changed"
            return applied(em, "init_workspace", actions, [], summary=summary)

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
        force: bool = False,
    ) -> MutationResult:
        """Scaffold a root from PNG/WAV files (copied in, artifacts in the order given).
        The files meet the gate's checks first; what would block the pack is refused
        unless `force`."""
        em = self.emitter()
        root = normalize_root(root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            plan = _plan_create(
                self.project,
                registry,
                _NewAsset(family_name, root, files, options, include, preload, slot, name),
            )
            refuse_blocking(plan.verdict, force)
            return self._apply_create(em, registry, plan)

        return self._mutation("create_asset", em, body)

    def _apply_create(
        self, em: OperationEmitter, registry: Registry, plan: _CreatePlan
    ) -> MutationResult:
        """Copy the files in, write asset.json, register; a failure removes what it made."""
        root, target, decl = plan.root, plan.target, plan.decl
        created = not target.exists()
        try:
            target.mkdir(parents=True, exist_ok=True)
            for f, n in zip(plan.files, plan.names, strict=True):
                shutil.copyfile(f, target / n)
            write_atomic(target / ASSET_FILE, pretty(decl.to_json_dict()))
            registry, new_id = registry.allocate(decl.asset_uuid, root, plan.include)
            save_registry(self.project.registry_path, registry)
        except BaseException:
            if created:
                shutil.rmtree(target, ignore_errors=True)
            raise
        loaded = load_asset(self.project.assets_dir, root)
        entry = RegistryEntry(
            asset_id=new_id,
            asset_uuid=decl.asset_uuid,
            included_in_build=plan.include,
            root=root,
        )
        count = len(plan.names)
        blocked = [d for d in plan.verdict if d.blocking]
        return applied(
            em,
            "create_asset",
            [
                Action(
                    kind="create_root",
                    path=f"assets/{root}",
                    description=f"copied {count} file{'' if count == 1 else 's'} "
                    f"and wrote {ASSET_FILE}",
                ),
                Action(
                    kind="register",
                    path=f"assets/{root}",
                    description=f"registered as asset_id {new_id}",
                ),
            ],
            [AssetRef(asset_id=new_id, root=root)],
            summary=f"created {plan.family.type_name} {root!r} as asset {new_id} with "
            f"{count} artifact{'' if count == 1 else 's'}"
            + ("; forced: it blocks the pack until fixed" if blocked else ""),
            diagnostics=list(loaded.diagnostics) + [d for d in plan.verdict if d.blocking],
            asset=self._summary(entry, loaded).model_copy(
                update={
                    "blocking": bool(blocked),
                    "checked": True,
                    "problems": list(dict.fromkeys(d.code for d in blocked)),
                }
            ),
        )

    def register_asset(self, root: str, *, include: bool = True) -> MutationResult:
        """Register an existing root under a fresh, never-reused asset_id."""
        em = self.emitter()
        root = normalize_root(root)

        def body() -> MutationResult:
            registry = self._registry_for_write()
            decl = _plan_register(self.project, registry, root)
            registry, new_id = registry.allocate(decl.asset_uuid, root, include)
            save_registry(self.project.registry_path, registry)
            loaded = load_asset(self.project.assets_dir, root)
            entry = registry.by_id(new_id)
            assert entry is not None
            return applied(
                em,
                "register_asset",
                [
                    Action(
                        kind="register",
                        path=f"assets/{root}",
                        description=f"registered as asset_id {new_id}",
                    )
                ],
                [AssetRef(asset_id=new_id, root=root)],
                summary=f"registered {root!r} as asset {new_id}",
                diagnostics=list(loaded.diagnostics),
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
            actions: list[Action] = []
            if entry.included_in_build != included:
                registry = registry.with_entry(
                    entry.model_copy(update={"included_in_build": included})
                )
                save_registry(self.project.registry_path, registry)
                actions.append(
                    Action(
                        kind="set_included",
                        path=f"assets/{entry.root}",
                        description=("included in" if included else "excluded from") + " the build",
                    )
                )
            word = "included in" if included else "excluded from"
            summary = (
                f"asset {entry.asset_id} ({entry.root}) {word} the build"
                if actions
                else f"asset {entry.asset_id} was already {word} the build"
            )
            new_entry = registry.by_id(entry.asset_id)
            assert new_entry is not None
            return applied(
                em,
                op,
                actions,
                [AssetRef(asset_id=entry.asset_id, root=entry.root)],
                summary=summary,
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
            actions = _plan_relocate(self.project, registry, entry, new_root)
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
            new_entry = self._apply_relocate(registry, entry, new_root)
            return applied(
                em,
                "relocate_asset",
                actions,
                refs,
                summary=f"moved asset {entry.asset_id} to {new_root!r}; asset_id and "
                "asset_uuid unchanged",
                asset=self._summary(new_entry, load_asset(self.project.assets_dir, new_root)),
            )

        return self._mutation("relocate_asset", em, body)

    def _apply_relocate(
        self, registry: Registry, entry: RegistryEntry, new_root: str
    ) -> RegistryEntry:
        """Copy, switch the registry, delete the old root; journaled against a kill."""
        src = self.project.root_dir(entry.root)
        dst = self.project.root_dir(new_root)
        new_entry = entry.model_copy(update={"root": new_root})
        journal.begin(self.project, entry.asset_id, entry.root, new_root)
        try:
            journal.copy_root(src, dst)
            save_registry(self.project.registry_path, registry.with_entry(new_entry))
        except Exception:  # nothing switched: drop our copy, the old root stands
            journal.remove_root(dst, self.project.assets_dir)
            journal.end(self.project)
            raise
        journal.remove_root(src, self.project.assets_dir)
        journal.end(self.project)
        return new_entry

    def remove_asset(
        self, ref: str | int, *, delete_files: bool = False, apply: bool = True
    ) -> MutationResult:
        """Drop the registry entry (its id is never reused). Deleting files needs consent."""
        em = self.emitter()

        def body() -> MutationResult:
            registry = self._registry_for_write()
            entry = self._resolve(registry, ref)
            actions = _plan_remove(self.project, entry, delete_files)
            refs = [AssetRef(asset_id=entry.asset_id, root=entry.root)]
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
            if delete_files:  # journaled: a kill half-way is finished by the next command
                journal.begin_remove(self.project, entry.asset_id, entry.asset_uuid, entry.root)
                crashpoint("remove_journaled")
            save_registry(self.project.registry_path, registry.without(entry.asset_id))
            if delete_files:
                crashpoint("remove_unregistered")
                journal.delete_root(self.project, entry.root)
                journal.end(self.project)
            return applied(
                em,
                "remove_asset",
                actions,
                refs,
                summary=f"removed asset {entry.asset_id} ({entry.root}) from the registry"
                + (
                    "; its files were deleted"
                    if delete_files
                    else "; its files stay on disk (unregistered)"
                ),
            )

        return self._mutation("remove_asset", em, body)


# What a game repo needs beside its assets: `doit pack`, and outputs kept out of git.
DODO_PY = b"from packer_tasks.dodo import *  # noqa: F401,F403   (gives `doit pack`)\n"
GAME_IGNORES = ("build/", ".prometeu-cache/", ".doit.db*")


def _scaffold_game_repo(project: Project) -> list[Action]:
    """dodo.py unless one exists; the ignore rules missing from .gitignore, appended."""
    actions: list[Action] = []
    dodo = project.root / "dodo.py"
    if not dodo.exists():
        write_atomic(dodo, DODO_PY)
        actions.append(
            Action(kind="create_file", path="dodo.py", description="`doit pack` packs the game")
        )
    ignore = project.root / ".gitignore"
    try:
        text = ignore.read_text("utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    missing = [rule for rule in GAME_IGNORES if rule.strip("/") not in present]
    if missing:
        head = "" if not text or text.endswith("\n") else "\n"
        block = head + "# prometeu-packer: build outputs, cache and doit state\n"
        write_atomic(ignore, (text + block + "\n".join(missing) + "\n").encode("utf-8"))
        actions.append(
            Action(
                kind="update_file" if text else "create_file",
                path=".gitignore",
                description="ignore " + ", ".join(missing),
            )
        )
    return actions


# -- plans: what a mutation would change, or the diagnostics that refuse it --------------------
# They read the registry and stat or read the files it names; they never write.


@dataclass(frozen=True)
class _NewAsset:
    """What `create_asset` was asked for."""

    family_name: str
    root: str
    files: Sequence[Path]
    options: dict[str, Any] | None
    include: bool
    preload: bool
    slot: int | None
    name: str | None


@dataclass(frozen=True)
class _CreatePlan:
    """A checked `create_asset`: the files to copy in and the declaration to write."""

    family: Family
    root: str
    target: Path
    files: Sequence[Path]
    names: list[str]
    decl: AssetDeclaration
    include: bool
    verdict: list[Diagnostic]


def refuse_blocking(verdict: list[Diagnostic], force: bool) -> None:
    """What would block the pack is refused before anything is written, unless forced."""
    blocking = [d for d in verdict if d.blocking]
    if blocking and not force:
        hint = "fix the files, or pass --force to write it anyway (`validate` will block)"
        raise OperationError(
            [
                d.model_copy(update={"hint": f"{d.hint}; or {hint}" if d.hint else hint})
                for d in blocking
            ]
        )


def _check_new_root(project: Project, registry: Registry, root: str) -> None:
    """Refuse a root that is invalid, reserved, occupied or already registered."""
    bad_root = root_problem(project.assets_dir, root)  # also: no link on the way, not .prometeu
    if bad_root is not None or root.startswith(".prometeu"):
        raise OperationError([bad_root or path_reserved(root)])
    target = project.root_dir(root)
    if target.exists() and any(target.iterdir()):
        raise OperationError([asset_root_exists(root)])
    holder = registry.by_root(root)
    if holder is not None:
        raise OperationError([asset_already_registered(root, holder.asset_id)])


def _input_problems(family: Family, files: Sequence[Path], names: list[str]) -> list[Diagnostic]:
    """Every reason the given files cannot become this family's artifacts."""
    problems: list[Diagnostic] = []
    for f in files:
        if not Path(f).is_file():
            problems.append(input_missing(str(f), given=True))
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
                f"several files are named {', '.join(dupes)}",
                "rename them so each file name is unique",
            )
        )
    if not files:
        problems.append(artifact_none(family.type_name, family.min_artifacts, given=True))
    return problems


def _plan_create(project: Project, registry: Registry, req: _NewAsset) -> _CreatePlan:
    family = get_family(req.family_name)
    if family is None:
        raise OperationError([declaration_unknown_family(req.family_name, FAMILIES)])
    _check_new_root(project, registry, req.root)
    names = [Path(f).name for f in req.files]
    problems = _input_problems(family, req.files, names)
    if problems:
        raise OperationError(problems)
    decl = AssetDeclaration(
        schema_version=ASSET_SCHEMA_VERSION,
        asset_uuid=str(uuid.uuid4()),
        name=req.name or req.root.rsplit("/", 1)[-1],
        type=family.type_name,
        inputs={family.input_role: names},
        artifacts=[ArtifactDecl(index=i, file=n) for i, n in enumerate(names)],
        output=family.scaffold_output(ScaffoldRequest(names, req.options or {})),
        preload=PreloadDecl(enabled=req.preload, slot=req.slot),
    )
    files: dict[str, bytes] = {}
    unreadable: list[Diagnostic] = []
    for f, n in zip(req.files, names, strict=True):
        try:
            files[n] = Path(f).read_bytes()
        except OSError as exc:
            unreadable.append(input_unreadable(str(f), str(exc.strerror or exc)))
    if unreadable:
        raise OperationError(unreadable)
    verdict = declaration_verdict(decl, files)
    return _CreatePlan(
        family, req.root, project.root_dir(req.root), req.files, names, decl, req.include, verdict
    )


def _plan_register(project: Project, registry: Registry, root: str) -> AssetDeclaration:
    """The declaration of the root to register, or OperationError."""
    bad = relative_path_problem(root, "asset root")
    if bad is not None:
        raise OperationError([bad])
    # The same safe read as every other load: no escaping links, no FIFOs.
    found = load_asset(project.assets_dir, root)
    decl = found.declaration
    if decl is None:
        problems = [d for d in found.diagnostics if d.blocking]
        if [d.code for d in problems] == ["declaration.missing"]:  # art without asset.json
            problems = [
                problems[0].model_copy(
                    update={
                        "hint": f"`prometeu-packer adopt {root}` writes asset.json for the "
                        "PNG or WAV files already there and registers it"
                    }
                )
            ]
        raise OperationError(problems)
    holder = registry.by_root(root)
    if holder is not None:
        raise OperationError([asset_already_registered(root, holder.asset_id)])
    other = registry.by_uuid(decl.asset_uuid)
    if other is not None:
        raise OperationError(
            [
                registry_duplicate_uuid(
                    decl.asset_uuid, f"asset {other.asset_id} at {other.root!r}", f"{root!r}"
                )
            ]
        )
    return decl


def _relocate_problems(
    project: Project, registry: Registry, entry: RegistryEntry, new_root: str
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    bad = relative_path_problem(new_root, "new root")
    bad_src = relative_path_problem(entry.root, "registry root")
    if bad_src is not None:  # never pull a folder from outside assets/ into it
        problems.append(bad_src.model_copy(update={"code": "registry.root_invalid"}))
    if bad is not None:
        problems.append(bad)
    # Never move through a symbolic link: not out of a linked folder, not into one.
    linked = [
        p
        for root, what in ((entry.root, "registry root"), (new_root, "new root"))
        if not (bad_src or bad)
        and (p := root_problem(project.assets_dir, root, what)) is not None
        and p.code == "path.symlink_escapes"
    ]
    if linked:
        return problems + linked
    if not project.root_dir(entry.root).is_dir():
        problems.append(asset_root_missing(entry.root, nothing_to="move"))
    if bad is None and (project.root_dir(new_root).exists() or registry.by_root(new_root)):
        problems.append(asset_root_exists(new_root))
    if bad is None and new_root.startswith(".prometeu"):
        problems.append(path_reserved(new_root))
    elif bad is None and new_root.startswith(entry.root + "/"):
        problems.append(path_reserved(new_root, inside_asset=entry.root))
    for other in registry.assets:
        if other.asset_id != entry.asset_id and (
            new_root.startswith(other.root + "/") or other.root.startswith(new_root + "/")
        ):
            problems.append(asset_root_nested(new_root, other.asset_id, other.root))
    return problems


def _plan_relocate(
    project: Project, registry: Registry, entry: RegistryEntry, new_root: str
) -> list[Action]:
    problems = _relocate_problems(project, registry, entry, new_root)
    if problems:
        raise OperationError(problems)
    return [
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


def _plan_remove(project: Project, entry: RegistryEntry, delete_files: bool) -> list[Action]:
    bad_root = root_problem(project.assets_dir, entry.root, "registry root")
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
    return actions
