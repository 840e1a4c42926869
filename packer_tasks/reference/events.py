"""The events page and `events.schema.json`: the envelope from the pydantic Event model,
every kind from EventKind, and where the source emits each (with the `data` keys it sets)."""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..models.event import TERMINAL_KINDS, Event, EventKind
from . import markdown as md
from .schema_text import model_section
from .source import Module, Source, argument, callee_name, calls, literal_text

# When each kind is published, in words; kinds missing here still get a row (from the enum).
WHEN = {
    EventKind.ASSET_DISCOVERED: "`list` finds an unregistered asset root (one per root)",
    EventKind.ASSET_CHANGED: "`watch` sees an asset root or the registry change on disk",
    EventKind.DIAGNOSTICS_UPDATED: "`validate` or `doctor` finished checking; `data` counts",
    EventKind.BUILD_STARTED: "a pack begins (after recovering an interrupted publication)",
    EventKind.BUILD_FINISHED: "a pack ends, whatever the outcome; the last event of a pack",
    EventKind.CACHE_HIT: "an asset's payload came from the cache (verified)",
    EventKind.CACHE_MISS: "an asset had to be materialized; `data.reason` says why",
    EventKind.PREVIEW_READY: "a mutation or fix ran as a preview (no `--yes`)",
    EventKind.ACTION_APPLIED: "a mutation or fix was applied (or needed no change)",
    EventKind.ACTION_FAILED: "a mutation or fix was refused or failed",
    EventKind.PROGRESS_UPDATED: "one more asset checked or materialized (`progress` set)",
    EventKind.RUNTIME_STATE_CHANGED: "the service's view of the project changed state",
}

ENVELOPE_NOTES = {
    "Event.project_id": "the project's folder name",
    "Event.operation_id": "20 random letters and digits, one per operation",
    "Event.sequence": "1, 2, 3, … within one operation_id",
    "Event.kind": "see the kinds below",
    "Event.timestamp": "UTC, ISO 8601",
    "Event.summary": "one human sentence",
    "Event.progress": "`{current, total}` on `progress_updated`, else null",
    "Event.affected_assets": "the assets the event is about (`asset_id` null if unregistered)",
    "Event.data": "kind-specific facts (keys listed per kind below)",
}


@dataclass
class Emission:
    """Where one kind is emitted: modules, summary sentences, data keys."""

    where: set[str] = field(default_factory=set)
    summaries: set[str] = field(default_factory=set)
    data_keys: set[str] = field(default_factory=set)


def emissions(src: Source) -> dict[str, Emission]:
    """kind value → its emission sites, from every `….emit(EventKind.X, summary, data=…)`."""
    found: dict[str, Emission] = defaultdict(Emission)
    for module in src.modules:
        for call in calls(module):
            kind = _kind_of(call)
            if kind is not None:
                _note(found[kind], module, call)
    return dict(found)


def _kind_of(call: ast.Call) -> str | None:
    if callee_name(call) != "emit" or not call.args:
        return None
    first = call.args[0]
    if (
        isinstance(first, ast.Attribute)
        and isinstance(first.value, ast.Name)
        and first.value.id == "EventKind"
        and first.attr in EventKind.__members__
    ):
        return EventKind[first.attr].value
    return None


def _note(emission: Emission, module: Module, call: ast.Call) -> None:
    emission.where.add(module.name)
    summary = literal_text(argument(call, 1, "summary"))
    if summary:
        emission.summaries.add(summary)
    data = argument(call, -1, "data")
    if isinstance(data, ast.Dict):
        emission.data_keys.update(
            k.value for k in data.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        )
    elif isinstance(data, ast.Call) and callee_name(data) == "dict":
        emission.data_keys.add("(counts)")


EXAMPLE = Event(
    project_id="starter",
    operation_id="Q3m9ZkT0bW7xYc2LpR5s",
    sequence=9,
    kind=EventKind.BUILD_FINISHED,
    timestamp=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    summary="packed 5 asset(s) into build/assets.pa (5 cache hit(s), 0 miss(es))",
    data={
        "status": "success",
        "packed_assets": 5,
        "cache_hits": 5,
        "cache_misses": 0,
        "up_to_date": 0,
        "elapsed_ms": 41,
    },
)


def schema_files() -> dict[str, str]:
    return {"events.schema.json": md.json_file(Event.model_json_schema())}


def render(src: Source) -> str:
    schema = Event.model_json_schema()
    found = emissions(src)
    sections = [
        "## Envelope\n\n"
        + model_section("Event", schema, ENVELOPE_NOTES, "Event", level=3).split("\n\n", 1)[1],
        "## One line of the stream\n\nAs `--events jsonl` writes it (one object per line; "
        "spread out, keys sorted, here):\n\n"
        + md.json_block(json.loads(EXAMPLE.model_dump_json())),
        _kinds_table(found),
        _ordering(),
        _sources(found),
    ]
    intro = (
        "Every operation publishes typed events through a *sink*: the CLI's progress bar, "
        "`--events jsonl` / `--events FILE` (one JSON object per line), "
        "`PROMETEU_PACKER_EVENTS` for doit runs, or an editor's own bus. Each line of the JSONL "
        "stream is one envelope; [events.schema.json](events.schema.json) is its JSON Schema, "
        "generated from the same pydantic model. Kinds may be added in later versions: a "
        "consumer should ignore kinds it does not know."
    )
    return md.page("Events", intro, sections)


def _kinds_table(found: dict[str, Emission]) -> str:
    rows = []
    for kind in EventKind:
        emission = found.get(kind.value, Emission())
        rows.append(
            (
                md.code(kind.value),
                WHEN.get(kind, "(not described yet: see where it is emitted, below)"),
                "yes" if kind in TERMINAL_KINDS else "no",
                ", ".join(md.code(k) for k in sorted(emission.data_keys)),
            )
        )
    headers = ["kind", "emitted when", "lifecycle (never coalesced)", "`data` keys"]
    return "## Kinds\n\n" + md.table(headers, rows)


def _ordering() -> str:
    lifecycle = ", ".join(md.code(k.value) for k in EventKind if k in TERMINAL_KINDS)
    return (
        "## Ordering guarantees\n\n"
        "* Within one `operation_id`, events reach the sink in publication order and "
        "`sequence` increases by one from 1; events of different operations carry different "
        "ids and may interleave.\n"
        "* A pack opens with `build_started` and always closes with exactly one "
        "`build_finished` (also when it is blocked, fails or is interrupted; `data.status` "
        "says which). `cache_hit` / `cache_miss` and `progress_updated` come in between.\n"
        "* A mutation or fix ends with exactly one of `preview_ready`, `action_applied` or "
        "`action_failed`.\n"
        f"* Lifecycle kinds ({lifecycle}) are always delivered one by one and in order. "
        "Only `progress_updated` may be coalesced (the CLI's bar and `HostAdapter` keep the "
        "newest); the newest pending progress of an operation is delivered before that "
        "operation's next other event, so a bar never ends short.\n"
        "* `runtime_state_changed` belongs to the service, not to one operation: it has its "
        "own `operation_id` for the service's lifetime."
    )


def _sources(found: dict[str, Emission]) -> str:
    rows = []
    for kind in EventKind:
        emission = found.get(kind.value, Emission())
        rows.append(
            (
                md.code(kind.value),
                ", ".join(md.code(w) for w in sorted(emission.where)),
                "; ".join(sorted(emission.summaries)),
            )
        )
    return (
        "## Where each kind comes from\n\n"
        "Read from the source (`…` stands for a value filled in at run time).\n\n"
        + md.table(["kind", "emitted in", "summary"], rows)
    )
