"""Pack execution (SPEC §8): gate, frozen snapshot, materialize, assemble, stage, promote.

Payloads are spooled to an anonymous temporary file as they are materialized, so memory
stays bounded by the largest asset, and nothing touches `build/` until the set is complete.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from prometeu_cache.digests import StatKey, is_racy
from prometeu_cache.keys import blake3_hex, canonical_bytes

from ..allocation import bulk_allocation
from ..artifact.build_record import (
    BuiltAsset,
    build_key,
    remember_outputs,
    stale_reason,
)
from ..artifact.companions import OUTPUT_NAMES, companion_files
from ..artifact.staging import RecoveryReport, publish, recover, stage
from ..artifact.writer import PackEntry, build_header, write_assets_pa
from ..canonical_json import FloatNotAllowed
from ..events.sink import OperationEmitter
from ..format_versions import BUILD_FORMAT_VERSION, PAYLOAD_FORMAT_VERSION
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import (
    build_cache_unavailable,
    build_promotion_failed,
    metadata_float,
)
from ..models.event import AssetRef, EventKind
from ..models.results import PackFailureStage, PackResult, Status
from ..workspace.project import Project
from ..workspace.snapshot import RegisteredAsset, WorkspaceSnapshot
from .decode_pool import DecodePool, decode_pool_for
from .gate import preload_for, structural_gate
from .materialize import AssetBuild, Materializer, MaterializeReport, Pending, decode
from .remote_tier import prefetch_remote, settle_remote
from .session import BuildSession

SPOOL_IN_MEMORY = 4 * 1024 * 1024  # beyond this, payloads wait on disk, not in RAM
CHUNK = 1024 * 1024


@dataclass
class MaterializedSet:
    """Every build-set asset materialized (or the diagnostics of those that failed)."""

    builds: list[AssetBuild] = field(default_factory=list)
    # asset_id -> (the file holding its payload: the spool or the previous assets.pa,
    # start, size)
    spans: dict[int, tuple[IO[bytes], int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    spool: IO[bytes] | None = None
    previous: IO[bytes] | None = None

    def chunks(self, asset_id: int) -> Iterator[bytes]:
        source, start, size = self.spans[asset_id]
        source.seek(start)
        while size > 0:
            data = source.read(min(CHUNK, size))
            if not data:
                return
            size -= len(data)
            yield data


def materialize_all(
    snap: WorkspaceSnapshot, session: BuildSession, em: OperationEmitter, *, keep_payloads: bool
) -> MaterializedSet:
    """Materialize the build set in asset_id order, reporting progress per asset."""
    out = MaterializedSet(
        spool=tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        if keep_payloads
        else None
    )
    previous = session.materializer.previous
    if keep_payloads and previous is not None:
        out.previous = open(previous.path, "rb")  # noqa: SIM115 (closed with the set)
    assets = snap.build_set()
    prefetch_remote(session.cache, session.materializer, assets)
    pool = decode_pool_for(len(assets)) if keep_payloads else None
    try:
        _materialize_in_order(assets, session.materializer, pool, out, em, keep_payloads)
    finally:
        if pool is not None:
            pool.close()
    return out


# Misses decoding at once per worker: enough to keep the workers busy, few enough that
# the input bytes held while waiting stay small.
IN_FLIGHT_PER_WORKER = 4


def _materialize_in_order(
    assets: list[RegisteredAsset],
    m: Materializer,
    pool: DecodePool | None,
    out: MaterializedSet,
    em: OperationEmitter,
    keep_payloads: bool,
) -> None:
    """Look every asset up in order; decode misses in the pool (or here); collect the
    results in asset order, so bytes and events do not depend on the pool."""
    window: deque[tuple[RegisteredAsset, MaterializeReport | tuple[Pending, Future[Any]]]]
    window = deque()
    limit = IN_FLIGHT_PER_WORKER * pool.workers if pool is not None else 0
    done = 0
    for asset in assets:
        found = m.look_up(asset, want_payload=keep_payloads)
        if isinstance(found, MaterializeReport):
            window.append((asset, found))
        elif pool is None:
            window.append(
                (asset, m.finish(found, decode(found.decl.type, found.decl, found.files)))
            )
        else:
            window.append((asset, (found, pool.submit(found))))
        while window and (len(window) > limit or isinstance(window[0][1], MaterializeReport)):
            done += 1
            _collect(*window.popleft(), m, out, em, (done, len(assets)))
    while window:
        done += 1
        _collect(*window.popleft(), m, out, em, (done, len(assets)))


def _collect(
    asset: RegisteredAsset,
    item: MaterializeReport | tuple[Pending, Future[Any]],
    m: Materializer,
    out: MaterializedSet,
    em: OperationEmitter,
    progress: tuple[int, int],
) -> None:
    report = item if isinstance(item, MaterializeReport) else m.finish(item[0], item[1].result())
    out.diagnostics.extend(report.diagnostics)
    if report.build is not None:
        out.builds.append(report.build)
        if out.previous is not None and report.reused is not None:
            reused = report.reused
            out.spans[report.build.asset_id] = (out.previous, reused.offset, reused.size)
        elif out.spool is not None and report.payload is not None:
            start = out.spool.seek(0, 2)
            out.spool.write(report.payload)
            out.spans[report.build.asset_id] = (out.spool, start, len(report.payload))
    em.emit(
        EventKind.PROGRESS_UPDATED,
        f"materialized {asset.entry.root}",
        progress=progress,
        assets=[AssetRef(asset_id=asset.entry.asset_id, root=asset.entry.root)],
    )


def planned_build_key(snap: WorkspaceSnapshot, session: BuildSession) -> str | None:
    """The build key the current sources give, from input digests alone (the memo's, or
    hashed): no payload is materialized. None when an input cannot be read. A state seen
    before (the same stat facts of the registry, every asset.json and every input) gets
    its key from the digest memo, under the same stat-facts rule as a file's digest."""
    remembered = _plan_memo_key(snap)
    if remembered is not None:
        known = session.memo.get(remembered)
        if known is not None:
            return known
    key = _compute_build_key(snap, session)
    if key is not None and remembered is not None:
        session.memo.put(remembered, key)
    return key


def _plan_memo_key(snap: WorkspaceSnapshot) -> StatKey | None:
    """The memo entry for this exact set of stat facts, or None when any of them is
    racily fresh (a same-tick rewrite could hide behind it)."""
    if not snap.fingerprint or any(
        is_racy(max(mtime, ctime)) for _n, _s, mtime, ctime, _i in snap.fingerprint
    ):
        return None
    facts = canonical_bytes(
        {
            "payload_format_version": PAYLOAD_FORMAT_VERSION,
            "build_format_version": BUILD_FORMAT_VERSION,
            "fingerprint": [list(f) for f in snap.fingerprint],
        }
    )
    # One memo row for the build key, holding the newest state's: the digest of the facts
    # is spelled as the row's four stat numbers.
    state = blake3_hex(facts)
    a, b, c, d = (int(state[i : i + 16], 16) for i in range(0, 64, 16))
    return ("build-key", a, b, c, d)


def _compute_build_key(snap: WorkspaceSnapshot, session: BuildSession) -> str | None:
    assets = []
    for asset in snap.build_set():
        decl = asset.loaded.declaration
        assert decl is not None  # the structural gate passed
        try:
            key, _ = session.materializer.cache_key_of(asset)
        except OSError:
            return None
        assets.append(
            BuiltAsset(asset.entry.asset_id, decl.name, asset.entry.root, decl.asset_uuid, key)
        )
    preload, _ = preload_for(snap.build_set())
    return build_key(assets, preload, PAYLOAD_FORMAT_VERSION)


def build_key_of(builds: list[AssetBuild], preload: list[dict[str, int]]) -> str:
    """The build key of what was actually materialized (the record's key)."""
    assets = [BuiltAsset(b.asset_id, b.name, b.root, b.asset_uuid, b.cache_key) for b in builds]
    return build_key(assets, preload, PAYLOAD_FORMAT_VERSION)


def build_is_current(
    project: Project, snap: WorkspaceSnapshot, session: BuildSession
) -> str | None:
    """None when build/ holds exactly the build of `snap` (record and files checked);
    otherwise why not. Call after recovery, inside the write lane."""
    if structural_gate(snap).blocked:
        return "something blocks the pack"
    return stale_reason_for(project, snap, session)


def tooling_entry(b: AssetBuild) -> dict[str, Any]:
    """One asset in `asset_table_metadata.json` (tooling only; the runtime never reads it)."""
    return {
        "asset_id": b.asset_id,
        "asset_uuid": b.asset_uuid,
        "root": b.root,
        "family": b.family,
        "format": b.format,
        "inputs": b.inputs,
        "cache_key": b.cache_key,
        "key_material": b.key_material,
        "payload_blake3": b.payload_blake3,
        "pipeline": b.pipeline,
    }


def run_pack(
    project: Project,
    session: BuildSession,
    em: OperationEmitter,
    runtime_snapshot: WorkspaceSnapshot | None = None,
    *,
    announce: bool = True,
) -> PackResult:
    """The whole pack; the caller holds the write lane. `announce=False` when the caller
    (a build system run) already published build_started for this operation."""
    t0 = time.monotonic()
    try:
        recovery = recover(project.build_dir)
        recovery_error: OSError | None = None
    except OSError as exc:  # e.g. a read-only build/: report it, never crash
        recovery, recovery_error = RecoveryReport([], []), exc
    if announce:
        em.emit(
            EventKind.BUILD_STARTED,
            f"pack of {project.project_id} started",
            data={
                "recovered": recovery.rolled_forward,
                "discarded": recovery.discarded,
                "rolled_back": recovery.rolled_back,
            },
        )
    if recovery_error is not None:
        diag = build_promotion_failed(
            str(recovery_error.strerror or recovery_error), recovering=True
        )
        result = _result(
            em, Status.FAILED, diag.message, [diag], failure_stage=PackFailureStage.PROMOTION
        )
    else:
        snap = runtime_snapshot or _snapshot(project)
        try:
            with bulk_allocation():
                result = _pack(project, snap, session, em)
        except KeyboardInterrupt:
            # The lifecycle closes even for Ctrl-C (publication itself defers signals,
            # so build/ holds one complete set); the caller reports the interrupt.
            em.emit(
                EventKind.BUILD_FINISHED,
                "pack interrupted",
                data={"status": "interrupted", "packed_assets": 0},
            )
            raise
    result.elapsed_ms = int((time.monotonic() - t0) * 1000)
    if session.cache is not None and not session.cache.available:
        result.diagnostics.append(
            build_cache_unavailable(session.cache.unavailable_reason or "unknown")
        )
    result.diagnostics += settle_remote(session.cache, session.config, em)
    m = session.materializer
    result.cache_hits, result.cache_misses, result.up_to_date = m.hits, m.misses, m.up_to_date
    result.remote_hits = m.remote_hits
    em.emit(
        EventKind.BUILD_FINISHED,
        result.summary,
        data={
            "status": result.status.value,
            "packed_assets": result.packed_assets,
            "cache_hits": m.hits,
            "remote_hits": m.remote_hits,
            "cache_misses": m.misses,
            "up_to_date": m.up_to_date,
            "elapsed_ms": result.elapsed_ms,
        },
    )
    return result


def _hits(session: BuildSession) -> str:
    """Cache hits for the summary, split by tier when a remote tier is configured."""
    m = session.materializer
    if session.config.remote is None:
        return f"{m.hits} cache hit(s)"
    return f"{m.hits - m.remote_hits} local + {m.remote_hits} remote cache hit(s)"


def _snapshot(project: Project) -> WorkspaceSnapshot:
    from ..workspace.snapshot import take_snapshot

    return take_snapshot(project)


def _result(
    em: OperationEmitter, status: Status, summary: str, diags: list[Diagnostic], **kw: Any
) -> PackResult:
    return PackResult(
        operation="pack",
        operation_id=em.operation_id,
        status=status,
        summary=summary,
        diagnostics=diags,
        blockers=[d for d in diags if d.blocking],
        **kw,
    )


def stale_reason_for(
    project: Project, snap: WorkspaceSnapshot, session: BuildSession
) -> str | None:
    """`build_is_current` minus the gate (the caller ran it)."""
    return stale_reason(project.build_dir, lambda: planned_build_key(snap, session), session.memo)


def _up_to_date(em: OperationEmitter, snap: WorkspaceSnapshot, session: BuildSession) -> PackResult:
    """build/ already holds this build: nothing is materialized or written."""
    assets = snap.build_set()
    m = session.materializer
    for asset in assets:
        m.outcomes.setdefault(asset.entry.asset_id, "up_to_date")
    return _result(
        em,
        Status.SUCCESS,
        f"build/assets.pa is up to date ({len(assets)} asset(s))",
        [],
        affected_assets=[],
        assets_pa="build/assets.pa",
        companions=[f"build/{n}" for n in OUTPUT_NAMES[1:]],
        packed_assets=len(assets),
        published=False,
    )


def _pack(
    project: Project, snap: WorkspaceSnapshot, session: BuildSession, em: OperationEmitter
) -> PackResult:
    gate = structural_gate(snap)
    if gate.blocked:
        n = len(gate.by_asset)
        return _result(
            em,
            Status.BLOCKED,
            f"pack blocked: {len(gate.all())} blocking "
            f"problem(s) in {n} place(s); build/ untouched",
            gate.all(),
        )
    if stale_reason_for(project, snap, session) is None:
        return _up_to_date(em, snap, session)
    try:
        made = materialize_all(snap, session, em, keep_payloads=True)
    except Exception as exc:  # a family bug or an I/O fault mid-read: fail, touch nothing
        diag = error(
            "build.materialization_failed",
            f"materialization failed: {type(exc).__name__}: {exc}",
            "nothing was written; re-run with PROMETEU_PACKER_DEBUG=1 and report it",
        )
        return _result(
            em,
            Status.FAILED,
            diag.message,
            [diag],
            execution_began=True,
            failure_stage=PackFailureStage.MATERIALIZATION,
        )
    try:
        if made.diagnostics and any(d.blocking for d in made.diagnostics):
            return _result(
                em,
                Status.BLOCKED,
                "pack blocked by asset content: "
                f"{sum(d.blocking for d in made.diagnostics)} problem(s); "
                "build/ untouched",
                made.diagnostics,
                execution_began=True,
            )
        preload, preload_diags = preload_for(snap.build_set())
        builds = sorted(made.builds, key=lambda b: b.asset_id)
        entries = [
            PackEntry(
                b.asset_id, b.name, b.bank_type, b.codec, b.decoded_size, b.metadata, b.payload_size
            )
            for b in builds
        ]
        try:
            header, _ = build_header(entries, preload)
        except FloatNotAllowed as exc:
            diag = metadata_float(exc.where, in_header=True)
            return _result(em, Status.BLOCKED, diag.message, [diag], execution_began=True)
        companions = companion_files(header, [tooling_entry(b) for b in builds])
        refs = [AssetRef(asset_id=b.asset_id, root=b.root) for b in builds]

        def write_pa(fh: BinaryIO) -> str:
            return write_assets_pa(fh, entries, preload, made.chunks).blake3

        created_build_dir = not project.build_dir.exists()
        try:
            project.build_dir.mkdir(parents=True, exist_ok=True)
            staged = stage(
                project.build_dir,
                em.operation_id,
                write_pa,
                companions,
                build_key_of(builds, preload),
            )
            publish(project.build_dir, staged.folder)  # rolls build/ back if a rename fails
        except OSError as exc:
            if created_build_dir:
                with contextlib.suppress(OSError):
                    project.build_dir.rmdir()  # leave no trace of a failed first pack
            diag = build_promotion_failed(str(exc.strerror or exc))
            return _result(
                em,
                Status.FAILED,
                diag.message,
                [diag, *preload_diags],
                execution_began=True,
                failure_stage=PackFailureStage.PROMOTION,
            )
        remember_outputs(project.build_dir, staged.outputs, session.memo)
        m = session.materializer
        return _result(
            em,
            Status.SUCCESS,
            f"packed {len(builds)} asset(s) into build/assets.pa ({_hits(session)}, "
            f"{m.misses} miss(es)" + (f", {m.up_to_date} up-to-date" if m.up_to_date else "") + ")",
            made.diagnostics,
            execution_began=True,
            affected_assets=refs,
            assets_pa="build/assets.pa",
            companions=[f"build/{n}" for n in OUTPUT_NAMES[1:]],
            packed_assets=len(builds),
            published=True,
        )
    finally:
        for fh in (made.spool, made.previous):
            if fh is not None:
                fh.close()
