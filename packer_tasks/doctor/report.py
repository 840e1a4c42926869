"""`doctor` (SPEC §7): every finding about the project, grouped by asset, plus its safe fixes.

Doctor's blocking findings are exactly the pack gate's (`validate`): structural problems of
the registry and the build set, preload clashes, and family decoding errors, where decoding
goes through the materializer with `want_payload=False`, so assets the cache already holds
are not decoded again. Everything else is reported but never blocks:

* registered but excluded assets: an `hygiene.excluded_asset` note, plus their structural
  problems with their own severity and `blocking: false` (they are not decoded: only the
  build set's input bytes are read);
* unregistered roots (`--workspace`): likewise, plus `hygiene.unregistered_root`;
* hygiene advice from `checks`.

So `DoctorResult.blocking` answers one question: can the build set be packed right now.

This module only computes: findings from a snapshot and a build session, and the result
built from them. Running doctor (taking the snapshot, opening the session, applying fixes
in the write lane, publishing events) is the service's job (`service/doctor_ops.py`).
"""

from __future__ import annotations

from ..events.sink import OperationEmitter
from ..models.diagnostic import Diagnostic, Severity, info, warning
from ..models.diagnostic_codes import hygiene_unregistered_root
from ..models.event import AssetRef
from ..models.results import Action, DoctorAssetReport, DoctorResult, RuntimeState, Status
from ..pipeline.gate import content_diagnostics, preload_for
from ..pipeline.session import BuildSession
from ..workspace.project import Project
from ..workspace.quarantine import QuarantineRecord
from ..workspace.snapshot import WorkspaceSnapshot
from .checks import ExaminedRoot, hygiene_findings
from .fixes import IDENTITY_FIXES, PlannedFix, annotate


def _advisory(d: Diagnostic, why: str) -> Diagnostic:
    """A structural problem of an asset outside the build set: shown, never blocking."""
    if not d.blocking:
        return d
    hint = f"{d.hint}; " if d.hint else ""
    return d.model_copy(
        update={"blocking": False, "hint": f"{hint}it does not block the pack while {why}"}
    )


def _registry_findings(snap: WorkspaceSnapshot) -> list[Diagnostic]:
    return list(snap.registry_diagnostics)


def _registered_findings(
    snap: WorkspaceSnapshot, session: BuildSession, em: OperationEmitter
) -> list[Diagnostic]:
    """Build-set assets as the gate sees them; excluded ones as advice."""
    out: list[Diagnostic] = []
    for asset in snap.registered:
        e = asset.entry
        if e.included_in_build:
            out += asset.diagnostics
            continue
        out += [_advisory(d, "the asset is excluded from the build") for d in asset.diagnostics]
        out.append(
            info(
                "hygiene.excluded_asset",
                f"asset {e.asset_id} ({e.root}) is registered but excluded from the build",
                f"`prometeu-packer include {e.asset_id}` puts it back; "
                f"`prometeu-packer remove {e.asset_id}` drops it if it is no longer "
                "needed",
            ).located(e.asset_id, e.root)
        )
    build = snap.build_set()
    out += preload_for(build)[1]
    out += content_diagnostics(build, session.materializer, em)
    return out


def _unregistered_findings(snap: WorkspaceSnapshot) -> list[Diagnostic]:
    owners = {a.entry.asset_uuid: a for a in snap.registered}
    out: list[Diagnostic] = []
    if snap.registry is None:
        return out  # without a readable registry, "unregistered" means nothing
    for u in snap.unregistered or ():
        out += [
            _advisory(d.located(None, u.root), "the root is unregistered") for d in u.diagnostics
        ]
        owner = owners.get(u.declaration.asset_uuid) if u.declaration else None
        if owner is not None and owner.loaded.declaration is not None:
            out.append(
                warning(
                    "hygiene.uuid_in_use",
                    f"unregistered root {u.root} carries the asset_uuid of asset "
                    f"{owner.entry.asset_id} ({owner.entry.root}); it looks like a copy",
                    "give the copy a new asset_uuid before adopting it, or delete it",
                ).located(None, u.root)
            )
        elif owner is not None:
            moved_from = (owner.entry.asset_id, owner.entry.root)
            out.append(hygiene_unregistered_root(u.root, moved_from=moved_from))
        else:
            out.append(hygiene_unregistered_root(u.root))
    return out


def _quarantine_findings(records: list[QuarantineRecord]) -> list[Diagnostic]:
    return [
        info(
            "hygiene.quarantined_asset",
            f"{'asset ' + str(r.asset_id) if r.asset_id else 'an unregistered root'} "
            f"from {r.original_root} is quarantined as {r.name!r} since "
            f"{r.quarantined_at}, so it is out of the build",
            f"`prometeu-packer restore {r.name} --yes` brings it back",
        ).located(r.asset_id, r.original_root)
        for r in records
    ]


def _hints(snap: WorkspaceSnapshot, records: list[QuarantineRecord]) -> list[Action]:
    """Explicit operations doctor suggests but never performs."""
    owners = {a.entry.asset_uuid for a in snap.registered}
    if snap.registry is None:
        return []
    out = [
        Action(
            kind="adopt",
            path=f"assets/{u.root}",
            description=f"`prometeu-packer adopt {u.root}` registers it (doctor never does)",
        )
        for u in snap.unregistered or ()
        if u.declaration is not None and u.declaration.asset_uuid not in owners
    ]
    missing = {
        a.entry.asset_id
        for a in snap.registered
        if any(d.code == "asset.root_missing" for d in a.diagnostics)
    }
    out += [
        Action(
            kind="restore",
            path=f"assets/{r.original_root}",
            description=f"`prometeu-packer restore {r.name} --yes` finishes the "
            "quarantine round trip",
        )
        for r in records
        if r.asset_id in missing
    ]
    return out


def _group(
    snap: WorkspaceSnapshot, diags: list[Diagnostic]
) -> tuple[list[Diagnostic], list[DoctorAssetReport]]:
    """Project-wide findings (quarantine included), and one report per examined root."""
    keys: dict[tuple[int | None, str], tuple[str | None, bool]] = {}
    for a in snap.registered:
        decl = a.loaded.declaration
        keys.setdefault((a.entry.asset_id, a.entry.root), (decl.name if decl else None, True))
    for u in snap.unregistered or ():
        keys.setdefault((None, u.root), (u.declaration.name if u.declaration else None, False))
    grouped: dict[tuple[int | None, str], list[Diagnostic]] = {k: [] for k in keys}
    project: list[Diagnostic] = []
    for d in diags:
        if d.asset_root is None or d.code == "hygiene.quarantined_asset":
            project.append(d)  # a quarantined asset has no root in the workspace
        else:
            grouped.setdefault((d.asset_id, d.asset_root), []).append(d)
    reports = []
    for (asset_id, root), found in grouped.items():
        name, registered = keys.get((asset_id, root), (None, False))
        reports.append(
            DoctorAssetReport(
                asset_id=asset_id,
                root=root,
                name=name,
                registered=registered,
                diagnostics=found,
                errors=sum(d.severity is Severity.ERROR for d in found),
                warnings=sum(d.severity is Severity.WARNING for d in found),
                infos=sum(d.severity is Severity.INFO for d in found),
            )
        )
    return project, reports


def _count(n: int, noun: str, many: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"


def _summary(snap: WorkspaceSnapshot, diags: list[Diagnostic], fixes: list[PlannedFix]) -> str:
    n_reg, n_unreg = len(snap.registered), len(snap.unregistered or ())
    scope = _count(n_reg, "registered asset") + (
        f" and {_count(n_unreg, 'unregistered root')}" if snap.unregistered is not None else ""
    )
    blocking = sum(d.blocking for d in diags)
    sev = {s: sum(d.severity is s for d in diags) for s in Severity}
    parts = [
        f"{blocking} blocking",
        _count(sev[Severity.ERROR], "error"),
        _count(sev[Severity.WARNING], "warning"),
        _count(sev[Severity.INFO], "note"),
    ]
    verdict = "the build set is blocked" if blocking else "the build set can be packed"
    safe = [f for f in fixes if f.fix_id not in IDENTITY_FIXES]
    fixable = f"; {_count(len(safe), 'safe fix', 'safe fixes')} available" if safe else ""
    return f"checked {scope}: {', '.join(parts)}{fixable}; {verdict}"


def examined_roots(snap: WorkspaceSnapshot) -> list[ExaminedRoot]:
    """Every root doctor looks at: the registered ones, then those the scan found."""
    examined = [ExaminedRoot(a.loaded, a.entry) for a in snap.registered]
    return examined + [ExaminedRoot(u, None) for u in snap.unregistered or ()]


def findings(
    project: Project,
    snap: WorkspaceSnapshot,
    session: BuildSession,
    em: OperationEmitter,
    records: list[QuarantineRecord],
    *,
    workspace: bool,
) -> list[Diagnostic]:
    """Every finding about the snapshot, in report order (decoding through `session`)."""
    diags = _registry_findings(snap)
    diags += _registered_findings(snap, session, em)
    diags += _unregistered_findings(snap)
    diags += hygiene_findings(project, examined_roots(snap), session.memo, workspace=workspace)
    return diags + _quarantine_findings(records)


def doctor_result(
    snap: WorkspaceSnapshot,
    diags: list[Diagnostic],
    fixes: list[PlannedFix],
    records: list[QuarantineRecord],
    *,
    operation_id: str,
    workspace: bool,
    runtime_state: RuntimeState,
) -> DoctorResult:
    """The doctor result for these findings: fix ids set, grouped by asset, counted."""
    # One finding per fact: a registry problem may reach us via the registry and the asset.
    diags = list(dict.fromkeys(annotate(diags, fixes)))
    project_diags, reports = _group(snap, diags)
    blockers = [d for d in diags if d.blocking]
    counts = {
        "assets": len(examined_roots(snap)),
        "blocking": len(blockers),
        "fixable": len(fixes),
        **{f"{s.value}s": sum(d.severity is s for d in diags) for s in Severity},
    }
    return DoctorResult(
        operation="doctor",
        operation_id=operation_id,
        status=Status.BLOCKED if blockers else Status.SUCCESS,
        summary=_summary(snap, diags, fixes),
        workspace=workspace,
        blocking=bool(blockers),
        diagnostics=diags,
        blockers=blockers,
        project=project_diags,
        assets=reports,
        counts=counts,
        runtime_state=runtime_state,
        proposed_actions=[f.action for f in fixes] + _hints(snap, records),
        affected_assets=[
            AssetRef(asset_id=r.asset_id, root=r.root) for r in reports if r.diagnostics
        ],
    )
