"""The `assets.pa` v1 artifact (SPEC §5): preload slots, writer, companions, strict reader."""

from .companions import OUTPUT_NAMES, companion_files
from .preload import PreloadRequest, assign_preload
from .reader import Prelude, ReadResult, read_assets_pa, read_assets_pa_file
from .writer import (
    PackEntry,
    PackLayout,
    align16,
    assets_pa_bytes,
    build_header,
    prelude,
    write_assets_pa,
)

__all__ = [
    "OUTPUT_NAMES",
    "PackEntry",
    "PackLayout",
    "PreloadRequest",
    "Prelude",
    "ReadResult",
    "align16",
    "assets_pa_bytes",
    "assign_preload",
    "build_header",
    "companion_files",
    "prelude",
    "read_assets_pa",
    "read_assets_pa_file",
    "write_assets_pa",
]
