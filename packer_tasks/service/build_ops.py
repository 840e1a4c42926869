"""Build operations: pack, recovery, the pack gate (validate) and explain."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..artifact.build_record import read_record
from ..artifact.staging import RecoveryReport, recover
from ..events.sink import OperationEmitter
from ..format_versions import manifest_versions
from ..models.diagnostic import any_blocking
from ..models.diagnostic_codes import asset_not_registered
from ..models.event import AssetRef, EventKind
from ..models.results import (
    ExplainResult,
    PackResult,
    Status,
    ValidatePackResult,
    ValidationEntry,
)
from ..pipeline.explain import describe_changes, previous_material
from ..pipeline.gate import content_diagnostics, preload_for, structural_gate
from ..pipeline.materialize import MaterializeReport
from ..pipeline.pack import build_is_current, run_pack
from ..pipeline.session import BuildSession
from ..workspace import journal
from ..workspace.project import BUILD_DIR, PUBLISHED
from ..workspace.snapshot import WorkspaceSnapshot
from ..workspace.stat_manifest import (
    discard_manifest,
    write_manifest,
)
from .base import ServiceBase, parse_ref
from .read_ops import plural


class BuildOps(ServiceBase):
    """The one pack path: the CLI, doit, `watch` and an embedding host all build here."""

    def pack(
        self,
        *,
        session: BuildSession | None = None,
        emitter: OperationEmitter | None = None,
        announce: bool = True,
        unchanged: Iterable[int] = (),
    ) -> PackResult:
        """Build `build/assets.pa` and its companions (SPEC §8) inside the write lane:
        recover an interrupted publication, then publish only when build/ does not
        already hold this exact build. A build system passes the `session` its tasks
        used (what they checked and materialized) and the `emitter` of its run, which
        already announced build_started (`announce=False`), and the assets its own
        checks found `unchanged` (counted as up to date, not as cache hits)."""
        em = emitter or self.emitter()
        self.runtime.check()  # an edit behind our snapshot is reported, not hidden
        with self.lane(), self._session(session, em) as run_session:
            self._recover_journal()
            for asset_id in unchanged:
                run_session.materializer.outcomes.setdefault(asset_id, "up_to_date")
            snap = self.snapshot()
            result = run_pack(self.project, run_session, em, snap, announce=announce)
            if result.status is Status.SUCCESS:
                self._remember_current(snap)
        result.runtime_state = self.runtime.state
        return result

    def open_build(self, emitter: OperationEmitter | None = None) -> BuildSession:
        """A build session (cache, digest memo, frozen inputs) for a build system's run:
        its tasks materialize through it and hand it to `pack`. The caller closes it."""
        return BuildSession(self.project, self.cache_config, emitter or self.emitter())

    def build_status(self, session: BuildSession | None = None) -> str | None:
        """None when build/ holds exactly the build of the current sources; otherwise why
        not. Interrupted publications are recovered first (in the write lane)."""
        with self.lane(), self._session(session, self.emitter()) as run_session:
            self._recover_journal()
            try:
                recover(self.project.build_dir)
            except OSError as exc:
                return f"an interrupted build could not be recovered: {exc.strerror or exc}"
            # The runtime's snapshot, re-stat'ed (size, mtime, ctime, inode of the registry,
            # every asset.json and input) and reloaded if anything moved.
            snap = self.snapshot()
            reason = build_is_current(self.project, snap, run_session)
            if reason is None:
                self._remember_current(snap)
            return reason

    def _remember_current(self, snap: WorkspaceSnapshot) -> None:
        """build/ was just found (or made) current for `snap`: record the stat facts so
        the next no-op can say so with one stat per file."""
        outputs = [f"{BUILD_DIR}/{n}" for n in PUBLISHED]
        record = read_record(self.project.build_dir)
        if record is None:
            discard_manifest(self.project.root)
            return
        write_manifest(
            self.project.root,
            manifest_versions(),
            (record.build_key, len(snap.build_set())),
            snap.build_sources(),
            outputs,
            expected=snap.source_facts(),
        )

    def materialize_asset(
        self, asset_id: int, session: BuildSession, snapshot: WorkspaceSnapshot
    ) -> MaterializeReport:
        """Materialize one build-set asset of `snapshot` (the one the build system made
        its tasks from) into the cache. Blocking problems come back as diagnostics;
        nothing is raised. `pack` re-reads the sources in the lane, so an edit made since
        the snapshot is never published from stale declarations."""
        asset = snapshot.find(asset_id)
        if asset is None or not asset.entry.included_in_build:
            gone = asset_not_registered(asset_id, while_building=True)
            return MaterializeReport(None, None, [gone])
        blocking = [d for d in asset.diagnostics if d.blocking]
        if blocking or asset.loaded.declaration is None:
            return MaterializeReport(None, None, blocking or list(asset.diagnostics))
        return session.materializer.materialize(asset, want_payload=False)

    @contextlib.contextmanager
    def _session(
        self, session: BuildSession | None, em: OperationEmitter
    ) -> Iterator[BuildSession]:
        """The caller's session (left open), or one of our own for this call."""
        if session is not None:
            yield session
            return
        with BuildSession(self.project, self.cache_config, em) as own:
            yield own

    def _recover_journal(self) -> None:
        if journal.journal_path(self.project).exists():
            self.runtime.committing()
            self._recover_workspace()
            self.runtime.committed()

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
            f"validated {plural(n, 'asset')}",
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
                f"all {plural(n, 'build-set asset')} can be packed"
                if green
                else f"{len(rows)} of {plural(n, 'build-set asset')} "
                + ("blocks" if len(rows) == 1 else "block")
                + " the pack"
            ),
            diagnostics=gate.all(),
            blockers=gate.all(),
        )

    def explain(self, ref: str | int) -> ExplainResult:
        """Why ASSET would re-materialize: which key component changed since the last pack."""
        em = self.emitter()
        snap = self.snapshot()
        asset = snap.find(parse_ref(ref))
        if asset is None or asset.loaded.declaration is None or any_blocking(asset.diagnostics):
            roots = [a.entry.root for a in snap.registered]
            diags = list(asset.diagnostics) if asset else [self.not_found(ref, roots)]
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
        # The payload is one part of assets.pa: the header, preload table and companions
        # change with the whole build set, so say whether the next pack publishes anew.
        build_changes = _preload_changes(self.project.build_dir, snap)
        why = self.build_status() if not (changes or build_changes) else None
        if why is not None:  # another asset, the registry or build/ itself
            build_changes = [why]
        if build_changes:
            summary += "; assets.pa would change: " + "; ".join(build_changes)
            changes = [*changes, *(f"build: {c}" for c in build_changes)]
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


def _preload_changes(build_dir: Path, snap: WorkspaceSnapshot) -> list[str]:
    """How the preload table of the next pack differs from build/preload.json."""
    try:
        before = json.loads((build_dir / "preload.json").read_text("utf-8"))
        old = {int(p["asset_id"]): int(p["slot"]) for p in before}
    except (OSError, ValueError, TypeError, KeyError):
        return []
    new = {p["asset_id"]: p["slot"] for p in preload_for(snap.build_set())[0]}
    out = []
    for asset_id in sorted(old.keys() | new.keys()):
        was, now = old.get(asset_id), new.get(asset_id)
        if was != now:
            out.append(
                f"asset {asset_id} "
                + (
                    f"preloads in slot {now}"
                    if was is None
                    else "no longer preloads"
                    if now is None
                    else f"moves from preload slot {was} to {now}"
                )
            )
    return out
