"""Canonical JSON, the two spellings the SPEC fixes.

* `compact` — the `assets.pa` header: UTF-8 (non-ASCII kept), no whitespace, keys sorted at
  every depth, arrays in order, no floats anywhere.
* `pretty` — files people read and commit (registry, companions, asset.json): sorted keys,
  2-space indent, trailing newline.
"""

from __future__ import annotations

import json
from typing import Any


class FloatNotAllowed(ValueError):
    """A float was found where the format forbids them; `where` is a JSON-pointer-ish path."""

    def __init__(self, where: str) -> None:
        super().__init__(f"float value at {where or '/'} (canonical JSON holds no floats)")
        self.where = where


def find_float(value: Any, where: str = "") -> str | None:
    """Return the path of the first float inside `value`, or None."""
    if isinstance(value, float):
        return where or "/"
    if isinstance(value, dict):
        for k in sorted(value):
            hit = find_float(value[k], f"{where}/{k}")
            if hit is not None:
                return hit
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            hit = find_float(item, f"{where}/{i}")
            if hit is not None:
                return hit
    return None


def compact(value: Any) -> bytes:
    """The header spelling. Raises FloatNotAllowed rather than writing a float."""
    where = find_float(value)
    if where is not None:
        raise FloatNotAllowed(where)
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def pretty(value: Any) -> bytes:
    """The committed-file spelling."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")
