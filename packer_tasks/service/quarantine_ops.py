"""Quarantine operations (SPEC §6): park an asset root in `assets/.prometeu/quarantine/`,
reversibly, and bring it back.

While quarantined the registry entry is removed. The allocator never reissues an id, so the
id stays free for the restore; the record (`workspace/quarantine.py`), not the registry, is
the asset's identity then. Both operations preview without consent and apply in the write
lane, re-checking there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

from ..canonical_json import pretty
from ..models.declaration import ASSET_FILE
from ..models.diagnostic import Diagnostic, error, warning
from ..models.diagnostic_codes import (
    asset_not_found,
    asset_root_missing,
    asset_root_nested,
    quarantine_target_occupied,
)
from ..models.event import AssetRef
from ..models.registry import Registry, RegistryEntry
from ..models.results import (
    Action,
    MutationResult,
    QuarantinedAsset,
    QuarantineListResult,
    Status,
)
from ..workspace.atomic import write_atomic
from ..workspace.declarations import load_asset
from ..workspace.journal import prune_empty_parents
from ..workspace.paths import normalize_root, relative_path_problem, root_problem
from ..workspace.project import META_DIR, Project
from ..workspace.quarantine import (
    FILES_DIR,
    RECORD_FILE,
    QuarantineRecord,
    changed_files,
    file_list,
    free_name,
    project_label,
    read_records,
    store_problem,
)
from ..workspace.registry_store import REGISTRY_LABEL, save_registry
from .base import OperationError, ServiceBase, applied, parse_ref, preview
from .read_ops import plural
from .suggest import suggestions


def _nested_with(registry: Registry, root: str, skip: int | None) -> list[Diagnostic]:
    return [
        asset_root_nested(root, e.asset_id, e.root)
        for e in registry.assets
        if e.asset_id != skip and (e.root.startswith(root + "/") or root.startswith(e.root + "/"))
    ]


def _root_to_quarantine(
    project: Project, registry: Registry, ref: str | int
) -> tuple[str, RegistryEntry | None]:
    """The root `ref` names (an asset_id, a registered root or an unregistered root)."""
    key = parse_ref(ref)
    entry = registry.by_id(key) if isinstance(key, int) else registry.by_root(key)
    if entry is not None:
        root = entry.root
    else:
        root = str(key)
        bad = None if isinstance(key, int) else relative_path_problem(root, "asset root")
        if bad is not None:
            raise OperationError([bad])
        if (
            isinstance(key, int)
            or root.split("/")[0] == META_DIR
            or not (project.root_dir(root) / ASSET_FILE).is_file()
        ):
            close = suggestions(str(key), [e.root for e in registry.assets])
            raise OperationError([asset_not_found(ref, close)])
    unsafe = root_problem(project.assets_dir, root)  # never move a folder through a link
    if unsafe is None:
        unsafe = store_problem(project)
    if unsafe is not None:
        raise OperationError([unsafe.located(entry.asset_id if entry else None, root)])
    if not project.root_dir(root).is_dir():
        raise OperationError(
            [
                asset_root_missing(root, nothing_to="quarantine").located(
                    entry.asset_id if entry else None, root
                )
            ]
        )
    problems = _nested_with(registry, root, entry.asset_id if entry else None)
    if problems:
        raise OperationError(problems)
    return root, entry


def _find_record(project: Project, ref: str) -> QuarantineRecord:
    records, problems = read_records(project)
    named = [r for r in records if r.name == ref]
    if not named:
        bad = next((p for p in problems if p.path == ref), None)
        if bad is not None:
            raise OperationError([bad])
        root = normalize_root(ref)
        named = [
            r
            for r in records
            if r.original_root == root or (ref.isdigit() and r.asset_id == int(ref))
        ]
    if len(named) == 1:
        return named[0]
    names = ", ".join(r.name for r in records) or "none"
    raise OperationError(
        [
            error(
                "quarantine.not_found",
                f"{'several' if named else 'no'} quarantined assets match {ref!r}",
                f"pass one of the quarantine names ({names}); see `prometeu-packer quarantine "
                "--list`",
            )
        ]
    )


@dataclass(frozen=True)
class _QuarantinePlan:
    """A checked quarantine: the record to write and the changes it makes."""

    record: QuarantineRecord
    entry: RegistryEntry | None
    actions: list[Action]
    refs: list[AssetRef]
    who: str  # how summaries name the asset


def _plan_quarantine(project: Project, registry: Registry, ref: str | int) -> _QuarantinePlan:
    """What quarantining `ref` would do (files are hashed for the record; nothing written)."""
    root, entry = _root_to_quarantine(project, registry, ref)
    decl = load_asset(project.assets_dir, root).declaration
    name = free_name(project, root)
    record = QuarantineRecord(
        name=name,
        original_root=root,
        asset_id=entry.asset_id if entry else None,
        asset_uuid=entry.asset_uuid if entry else (decl.asset_uuid if decl else None),
        asset_name=decl.name if decl else None,
        registry_entry=entry,
        included_in_build=entry.included_in_build if entry else None,
        quarantined_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files=file_list(project.root_dir(root)),
    )
    qlabel = project_label(project, project.quarantine_dir / name)
    actions = [
        Action(
            kind="move_root",
            path=f"assets/{root}",
            target=f"{qlabel}/{FILES_DIR}",
            description=f"move the folder ({plural(len(record.files), 'file')}) into quarantine",
        ),
        Action(
            kind="write_record",
            path=f"{qlabel}/{RECORD_FILE}",
            description="record the original root, identity and file digests",
        ),
    ]
    if entry is not None:
        actions.append(
            Action(
                kind="unregister",
                path=REGISTRY_LABEL,
                description=f"take asset {entry.asset_id} out of the registry "
                "while quarantined (its id stays reserved)",
            )
        )
    who = f"asset {entry.asset_id} ({root})" if entry else f"unregistered root {root}"
    return _QuarantinePlan(
        record, entry, actions, [AssetRef(asset_id=record.asset_id, root=root)], who
    )


def _apply_quarantine(project: Project, registry: Registry, plan: _QuarantinePlan) -> None:
    """Write the record, move the root in, unregister it; undone if a step fails."""
    src = project.root_dir(plan.record.original_root)
    target = project.quarantine_dir / plan.record.name
    target.mkdir(parents=True)
    try:
        write_atomic(target / RECORD_FILE, pretty(plan.record.model_dump(mode="json")))
        src.rename(target / FILES_DIR)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if plan.entry is not None:
        try:
            save_registry(project.registry_path, registry.without(plan.entry.asset_id))
        except BaseException:
            (target / FILES_DIR).rename(src)
            shutil.rmtree(target, ignore_errors=True)
            raise
    prune_empty_parents(src.parent, project.assets_dir)


@dataclass(frozen=True)
class _RestorePlan:
    """A checked restore: the record to bring back, notes about it, the changes it makes."""

    record: QuarantineRecord
    notes: list[Diagnostic]
    actions: list[Action]
    refs: list[AssetRef]


def _restore_problems(
    project: Project, registry: Registry, record: QuarantineRecord
) -> list[Diagnostic]:
    """Why `record` cannot go back now: its place or its identity is taken."""
    root = record.original_root
    dst = project.root_dir(root)
    problems: list[Diagnostic] = []
    unsafe = root_problem(project.assets_dir, root) or store_problem(project)
    if unsafe is not None:  # never move a folder into a linked place
        return [unsafe]
    if dst.exists() or dst.is_symlink():
        problems.append(quarantine_target_occupied(root, record.name))
    entry = record.registry_entry
    if entry is not None:
        holder = registry.by_root(root)
        if holder is not None:
            problems.append(
                quarantine_target_occupied(root, record.name, registered_as=holder.asset_id)
            )
        for other in (registry.by_id(entry.asset_id), registry.by_uuid(entry.asset_uuid)):
            if other is not None:
                problems.append(
                    error(
                        "quarantine.identity_taken",
                        f"asset {other.asset_id} at {other.root!r} now holds asset_id "
                        f"{entry.asset_id} or asset_uuid {entry.asset_uuid} of {record.name!r}",
                        "remove the other entry if it is a copy, then restore",
                    )
                )
                break
    return problems + _nested_with(registry, root, entry.asset_id if entry else None)


def _restore_actions(qlabel: str, record: QuarantineRecord) -> list[Action]:
    actions = [
        Action(
            kind="move_root",
            path=f"{qlabel}/{FILES_DIR}",
            target=f"assets/{record.original_root}",
            description="move the folder back to its original root",
        )
    ]
    entry = record.registry_entry
    if entry is not None:
        word = "included in" if entry.included_in_build else "excluded from"
        actions.append(
            Action(
                kind="register",
                path=REGISTRY_LABEL,
                description=f"re-register as asset {entry.asset_id} "
                f"({word} the build, same asset_uuid)",
            )
        )
    actions.append(
        Action(kind="remove_record", path=qlabel, description="drop the quarantine record")
    )
    return actions


def _plan_restore(project: Project, registry: Registry, ref: str) -> _RestorePlan:
    """What restoring `ref` would do (files are re-hashed to compare; nothing written)."""
    record = _find_record(project, ref)
    folder = project.quarantine_dir / record.name
    files_dir = folder / FILES_DIR
    if not files_dir.is_dir():
        raise OperationError(
            [
                error(
                    "quarantine.files_missing",
                    f"{project_label(project, files_dir)} is missing, so there is nothing to "
                    "restore",
                    f"inspect {project_label(project, folder)} by hand",
                )
            ]
        )
    problems = _restore_problems(project, registry, record)
    if problems:
        raise OperationError(problems)
    changed = changed_files(files_dir, record)
    notes = (
        [
            warning(
                "quarantine.files_changed",
                f"{plural(len(changed), 'file')} of {record.name!r} "
                + ("differs" if len(changed) == 1 else "differ")
                + " from the record: "
                f"{', '.join(changed[:5])}",
                "they are restored as they are now",
            )
        ]
        if changed
        else []
    )
    root = record.original_root
    actions = _restore_actions(project_label(project, folder), record)
    return _RestorePlan(record, notes, actions, [AssetRef(asset_id=record.asset_id, root=root)])


def _apply_restore(project: Project, registry: Registry, record: QuarantineRecord) -> None:
    """Move the files back, re-register, drop the record; the move is undone if needed."""
    folder = project.quarantine_dir / record.name
    files_dir = folder / FILES_DIR
    dst = project.root_dir(record.original_root)
    dst.parent.mkdir(parents=True, exist_ok=True)
    files_dir.rename(dst)
    if record.registry_entry is not None:
        try:
            save_registry(project.registry_path, registry.with_entry(record.registry_entry))
        except BaseException:
            dst.rename(files_dir)
            raise
    shutil.rmtree(folder, ignore_errors=True)


class QuarantineOps(ServiceBase):
    def quarantine_asset(self, ref: str | int, *, apply: bool = False) -> MutationResult:
        """Move a root (registered or not) into assets/.prometeu/quarantine/, reversibly;
        it leaves the build. Preview unless `apply`."""
        em = self.emitter()

        def body() -> MutationResult:
            registry = self._registry_for_write()
            plan = _plan_quarantine(self.project, registry, ref)
            name = plan.record.name
            if not apply:
                return preview(
                    em,
                    "quarantine_asset",
                    plan.actions,
                    plan.refs,
                    summary=f"would quarantine {plan.who} as {name!r}; pass --yes to apply",
                )
            _apply_quarantine(self.project, registry, plan)
            return applied(
                em,
                "quarantine_asset",
                plan.actions,
                plan.refs,
                summary=f"quarantined {plan.who} as {name!r}; it is out of the build until "
                f"`prometeu-packer restore {name} --yes`",
            )

        return self._mutation("quarantine_asset", em, body)

    def restore_asset(self, ref: str, *, apply: bool = False) -> MutationResult:
        """Bring a quarantined root back byte-for-byte to its original place, with its
        identity; preview unless `apply`."""
        em = self.emitter()

        def body() -> MutationResult:
            registry = self._registry_for_write()
            plan = _plan_restore(self.project, registry, ref)
            record, entry = plan.record, plan.record.registry_entry
            root = record.original_root
            if not apply:
                return preview(
                    em,
                    "restore_asset",
                    plan.actions,
                    plan.refs,
                    diagnostics=plan.notes,
                    summary=f"would restore {record.name!r} to assets/{root}; pass --yes to apply",
                )
            _apply_restore(self.project, registry, record)
            loaded = load_asset(self.project.assets_dir, root)
            return applied(
                em,
                "restore_asset",
                plan.actions,
                plan.refs,
                diagnostics=plan.notes,
                summary=f"restored {record.name!r} to assets/{root}"
                + (f" as asset {entry.asset_id}" if entry else " (unregistered)"),
                asset=self._summary(entry, loaded),
            )

        return self._mutation("restore_asset", em, body)

    def list_quarantined(self) -> QuarantineListResult:
        """What sits in quarantine, oldest name first; unreadable records are diagnostics."""
        em = self.emitter()
        records, problems = read_records(self.project)
        entries = [
            QuarantinedAsset(
                name=r.name,
                original_root=r.original_root,
                asset_id=r.asset_id,
                asset_uuid=r.asset_uuid,
                asset_name=r.asset_name,
                included_in_build=r.included_in_build,
                quarantined_at=r.quarantined_at,
                file_count=len(r.files),
                total_size=sum(f.size for f in r.files),
            )
            for r in records
        ]
        return QuarantineListResult(
            operation="list_quarantined",
            operation_id=em.operation_id,
            status=Status.SUCCESS,
            summary=f"{plural(len(entries), 'asset')} in quarantine",
            entries=entries,
            diagnostics=problems,
        )
