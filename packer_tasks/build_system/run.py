"""The state of one `doit` process: the project, its service, one build session and one
operation (event stamps) shared by every task, so each file is hashed once per run."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometeu_cache.digests import DigestMemo

from ..events.sink import EventSink, NullSink, OperationEmitter
from ..models.event import EventKind
from ..models.results import PackResult
from ..pipeline.session import BuildSession
from ..service import PackerService
from ..workspace.project import Project, find_project
from ..workspace.snapshot import WorkspaceSnapshot

_fallback_memo = DigestMemo(None)


@dataclass
class DoitRun:
    service: PackerService
    snapshot: WorkspaceSnapshot
    emitter: OperationEmitter
    session: BuildSession
    started: float = field(default_factory=time.monotonic)
    announced: bool = False
    executed: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    result: PackResult | None = None
    dep_prefix: str = ""
    owns_sink: bool = False
    pid: int = field(default_factory=os.getpid)
    is_worker: bool = False
    # Sessions inherited from the parent by a forked worker (`doit -n N`): kept alive but
    # never used, since sqlite connections must not cross a fork.
    inherited: list[BuildSession] = field(default_factory=list)

    @property
    def project(self) -> Project:
        return self.service.project

    @property
    def in_worker(self) -> bool:
        """True in a process forked by doit's parallel runner (not the one that reports)."""
        return self.pid != os.getpid()

    def announce(self) -> None:
        if not self.announced:
            self.announced = True
            self.emitter.emit(
                EventKind.BUILD_STARTED, f"doit pack of {self.project.project_id} started"
            )

    def finish(self, summary: str, status: str, counts: dict[str, int]) -> None:
        """Close the lifecycle a task opened when the pack itself did not publish
        build_finished (assemble up to date, or a task failed before it ran)."""
        if not self.announced or self.result is not None:
            return
        self.emitter.emit(
            EventKind.BUILD_FINISHED, summary, data={"status": status, "packed_assets": 0, **counts}
        )


_RUN: DoitRun | None = None


def start_run(
    project_dir: str | os.PathLike[str] | None = None, sink: EventSink | None = None
) -> DoitRun:
    """Create (once per process) the run context for the project at or above the folder."""
    global _RUN
    if _RUN is None:
        project = (
            Project(Path(os.path.abspath(project_dir)))
            if project_dir is not None
            else find_project(Path.cwd())
        )
        owns_sink = sink is None
        service = PackerService(project, sink=sink or _sink_from_env())
        emitter = service.emitter()
        _RUN = DoitRun(
            service,
            service.snapshot(),
            emitter,
            BuildSession(project, service.cache_config, emitter),
            owns_sink=owns_sink,
        )
        _RUN.dep_prefix = project_prefix()
    elif _RUN.in_worker:
        # A forked worker: open its own cache and digest memo (see `inherited`).
        _RUN.inherited.append(_RUN.session)
        _RUN.session = BuildSession(_RUN.project, _RUN.session.config, _RUN.emitter)
        _RUN.pid, _RUN.is_worker = os.getpid(), True
        _RUN.executed, _RUN.failed = set(), set()
    return _RUN


def current_run() -> DoitRun | None:
    return _RUN


def end_run() -> None:
    global _RUN
    if _RUN is not None:
        run, _RUN = _RUN, None
        run.session.close()
        close = getattr(run.service.sink, "close", None)
        if run.owns_sink and callable(close):
            close()


def current_memo() -> DigestMemo:
    return _RUN.session.memo if _RUN is not None else _fallback_memo


def project_prefix() -> str:
    """The project root as doit's file_dep paths spell it (relative to the cwd)."""
    assert _RUN is not None
    rel = os.path.relpath(_RUN.project.root)
    return "" if rel == "." else Path(rel).as_posix() + "/"


def label_for(path: str) -> str:
    """Digest-memo label of a dependency: project-relative when inside the project.
    Paths the task creator wrote (prefix + project-relative) are sliced, not resolved."""
    if _RUN is not None:
        prefix = _RUN.dep_prefix
        if path.startswith(prefix) and not os.path.isabs(path) and ".." not in path:
            return path[len(prefix) :]
        rel = os.path.relpath(os.path.abspath(path), _RUN.project.root)
        if not rel.startswith(".."):
            return Path(rel).as_posix()
    return os.path.abspath(path)


def _sink_from_env() -> EventSink:
    """`PROMETEU_PACKER_EVENTS=jsonl|PATH` streams the doit run's events like `--events`."""
    spec = os.environ.get("PROMETEU_PACKER_EVENTS")
    if not spec:
        return NullSink()
    try:
        from ..events.jsonl import open_jsonl_sink
    except ImportError:  # pragma: no cover - the JSONL sink ships with the package
        return NullSink()
    sink: EventSink = open_jsonl_sink(spec)
    return sink


def _check_task_data(data: object) -> None:
    """doit calls `.get` on a row and on its `_values_:`, and `set()` on its `deps:`; a
    row of another shape would crash doit mid-run, so it counts as corruption too."""
    if not isinstance(data, dict):
        raise ValueError(f"a task row holds {type(data).__name__}, not an object")
    values = data.get("_values_:")
    if values is not None and not isinstance(values, dict):
        raise ValueError("a task row's _values_: is not an object")
    deps = data.get("deps:")
    if deps is not None and not (isinstance(deps, list) and all(isinstance(d, str) for d in deps)):
        raise ValueError("a task row's deps: is not a list of file names")


def heal_dep_file(path: str) -> str | None:
    """A corrupt doit state file must cost one re-hash, not a crash: move it aside."""
    if not os.path.exists(path):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "doit" not in tables:
                raise sqlite3.DatabaseError("not a doit state file")
            if "doit" in tables:
                for (data,) in db.execute("SELECT task_data FROM doit"):
                    _check_task_data(json.loads(data))
        return None
    except (sqlite3.Error, ValueError, TypeError) as exc:
        aside = f"{path}.corrupt"
        try:
            os.replace(path, aside)
        except OSError as move_exc:
            return (
                f"doit state {path} is unreadable ({exc}) and could not be moved aside "
                f"({move_exc.strerror or move_exc}); delete it to rebuild"
            )
        return f"doit state {path} was unreadable ({exc}); moved to {aside}, rebuilding"
