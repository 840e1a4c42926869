"""The family registry: asset.json `type` → family object. New families register here only."""

from __future__ import annotations

from .base import ExtractedFile, Family, Materialized, MaterializeOutcome, ScaffoldRequest
from .glyph_bank import GlyphBank
from .sound_bank import SoundBank

FAMILIES: dict[str, Family] = {f.type_name: f for f in (GlyphBank(), SoundBank())}


def get_family(type_name: str) -> Family | None:
    return FAMILIES.get(type_name)


__all__ = [
    "FAMILIES",
    "ExtractedFile",
    "Family",
    "MaterializeOutcome",
    "Materialized",
    "ScaffoldRequest",
    "get_family",
]
