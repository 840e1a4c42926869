"""`doit pack` here packs the embedded default project, sample_projects/starter."""

from collections.abc import Iterator
from typing import Any

from packer_tasks.dodo import DOIT_CONFIG, pack_tasks

__all__ = ["DOIT_CONFIG", "task_pack"]


def task_pack() -> Iterator[dict[str, Any]]:
    """Pack sample_projects/starter into sample_projects/starter/build/assets.pa."""
    yield from pack_tasks("sample_projects/starter")
