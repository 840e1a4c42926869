"""The event lane (SPEC §10): sinks the packer publishes to, and adapters for hosts."""

from .sink import CollectingSink, EventSink, NullSink, OperationEmitter, new_operation_id

__all__ = ["CollectingSink", "EventSink", "NullSink", "OperationEmitter", "new_operation_id"]
