"""prometeu-packer: validates PROMETEU game assets and packs them into build/assets.pa.

The public surface, for hosts that embed the packer (an editor, a script, CI)::

    from packer_tasks import PackerService, find_project, CollectingSink

    service = PackerService(find_project(), sink=CollectingSink())
    result = service.pack()          # a PackResult; every operation returns a result model

* the service: `PackerService` (every operation of SPEC §6) and `CacheConfig`;
* project discovery: `Project`, `find_project`, `ProjectNotFound`;
* the event lane (SPEC §10): `EventSink`, `NullSink`, `CollectingSink`, `JsonlSink` /
  `open_jsonl_sink`, `FanoutSink`, `CoalescingSink`, and `HostAdapter` with `HostBus`,
  `ActivityEntry`, `ProgressModel` for mapping events onto a host's own bus;
* the models: `Event`, `EventKind`, `AssetRef`, `Progress`, `Diagnostic`, `Severity`, and
  every result (`OperationResult` and its subclasses, `Status`, `RuntimeState`, ...).

Anything else is internal and may move. Names load on first use (PEP 562), so
`import packer_tasks` stays cheap: it imports neither pydantic, click, rich nor Pillow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .events.coalesce import CoalescingSink
    from .events.fanout import FanoutSink
    from .events.host import ActivityEntry, HostAdapter, HostBus, ProgressModel
    from .events.jsonl import JsonlSink, open_jsonl_sink
    from .events.sink import CollectingSink, EventSink, NullSink
    from .models.diagnostic import Diagnostic, Severity
    from .models.event import AssetRef, Event, EventKind, Progress
    from .models.results import (
        Action,
        AssetDetails,
        AssetDetailsResult,
        AssetSummary,
        CacheResult,
        DoctorAssetReport,
        DoctorResult,
        ExplainResult,
        InputInfo,
        InspectResult,
        ListAssetsResult,
        MutationResult,
        OperationResult,
        PackFailureStage,
        PackResult,
        PackSummaryResult,
        QuarantinedAsset,
        QuarantineListResult,
        RuntimeState,
        Status,
        SummaryEntry,
        ValidatePackResult,
        ValidationEntry,
    )
    from .service import PackerService
    from .workspace.project import Project, ProjectNotFound, find_project
    from .workspace.settings import CacheConfig

# Where each public name lives; `__getattr__` imports the module on first use.
_SOURCES: dict[str, tuple[str, ...]] = {
    ".events.coalesce": ("CoalescingSink",),
    ".events.fanout": ("FanoutSink",),
    ".events.host": ("ActivityEntry", "HostAdapter", "HostBus", "ProgressModel"),
    ".events.jsonl": ("JsonlSink", "open_jsonl_sink"),
    ".events.sink": ("CollectingSink", "EventSink", "NullSink"),
    ".models.diagnostic": ("Diagnostic", "Severity"),
    ".models.event": ("AssetRef", "Event", "EventKind", "Progress"),
    ".models.results": (
        "Action",
        "AssetDetails",
        "AssetDetailsResult",
        "AssetSummary",
        "CacheResult",
        "DoctorAssetReport",
        "DoctorResult",
        "ExplainResult",
        "InputInfo",
        "InspectResult",
        "ListAssetsResult",
        "MutationResult",
        "OperationResult",
        "PackFailureStage",
        "PackResult",
        "PackSummaryResult",
        "QuarantineListResult",
        "QuarantinedAsset",
        "RuntimeState",
        "Status",
        "SummaryEntry",
        "ValidatePackResult",
        "ValidationEntry",
    ),
    ".service": ("PackerService",),
    ".workspace.project": ("Project", "ProjectNotFound", "find_project"),
    ".workspace.settings": ("CacheConfig",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "Action",
    "ActivityEntry",
    "AssetDetails",
    "AssetDetailsResult",
    "AssetRef",
    "AssetSummary",
    "CacheConfig",
    "CacheResult",
    "CoalescingSink",
    "CollectingSink",
    "Diagnostic",
    "DoctorAssetReport",
    "DoctorResult",
    "Event",
    "EventKind",
    "EventSink",
    "ExplainResult",
    "FanoutSink",
    "HostAdapter",
    "HostBus",
    "InputInfo",
    "InspectResult",
    "JsonlSink",
    "ListAssetsResult",
    "MutationResult",
    "NullSink",
    "OperationResult",
    "PackFailureStage",
    "PackResult",
    "PackSummaryResult",
    "PackerService",
    "Progress",
    "ProgressModel",
    "Project",
    "ProjectNotFound",
    "QuarantineListResult",
    "QuarantinedAsset",
    "RuntimeState",
    "Severity",
    "Status",
    "SummaryEntry",
    "ValidatePackResult",
    "ValidationEntry",
    "__version__",
    "find_project",
    "open_jsonl_sink",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, then keep it here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
