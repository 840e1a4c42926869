"""The event lane (SPEC §10): sinks the packer publishes to, and adapters for hosts."""

from .coalesce import CoalescingSink
from .fanout import FanoutSink
from .host import ActivityEntry, HostAdapter, HostBus, ProgressModel
from .jsonl import JsonlSink, open_jsonl_sink
from .sink import CollectingSink, EventSink, NullSink, OperationEmitter, new_operation_id

__all__ = [
    "ActivityEntry",
    "CoalescingSink",
    "CollectingSink",
    "EventSink",
    "FanoutSink",
    "HostAdapter",
    "HostBus",
    "JsonlSink",
    "NullSink",
    "OperationEmitter",
    "ProgressModel",
    "new_operation_id",
    "open_jsonl_sink",
]
