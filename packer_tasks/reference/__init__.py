"""The generated reference (docs/reference/): one module per page kind, read from the code
so the pages cannot drift from it. Run `python -m packer_tasks.reference [--check]`."""

from __future__ import annotations

from .pages import default_target, generate, stale, write

__all__ = ["default_target", "generate", "stale", "write"]
