"""Canonical JSON, the two spellings the SPEC fixes.

* `compact` — the `assets.pa` header: UTF-8 (non-ASCII kept), no whitespace, keys sorted at
  every depth, arrays in order, no floats anywhere.
* `pretty` — files people read and commit (registry, companions, asset.json): sorted keys,
  2-space indent, trailing newline.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
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
    """The committed-file spelling: exactly `json.dumps(value, ensure_ascii=False,
    sort_keys=True, indent=2, allow_nan=False)` plus a newline. The standard encoder goes
    pure-Python as soon as `indent` is set; this walk emits the same text about twice as
    fast (the companions of a large build are megabytes). Anything it does not know (a
    non-string key, an unusual type) goes to the standard encoder."""
    try:
        text = _pretty_text(value)
    except _Unusual:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


class _Unusual(Exception):
    """A value `_pretty_text` leaves to the standard encoder."""


def _pretty_text(value: Any) -> str:
    parts: list[str] = []
    add = parts.append
    quote = encode_basestring

    def walk(v: Any, indent: str) -> None:
        if isinstance(v, str):
            add(quote(v))
        elif v is True or v is False or v is None:
            add("true" if v is True else "false" if v is False else "null")
        elif isinstance(v, int):
            add(int.__repr__(v))
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise _Unusual
            add(float.__repr__(v))
        elif isinstance(v, dict):
            if not v:
                add("{}")
                return
            if not all(type(k) is str for k in v):
                raise _Unusual
            inner = indent + "  "
            opener = "{\n"
            for k in sorted(v):
                add(opener + inner + quote(k) + ": ")
                opener = ",\n"
                walk(v[k], inner)
            add("\n" + indent + "}")
        elif isinstance(v, list | tuple):
            if not v:
                add("[]")
                return
            inner = indent + "  "
            opener = "[\n"
            for item in v:
                add(opener + inner)
                opener = ",\n"
                walk(item, inner)
            add("\n" + indent + "]")
        else:
            raise _Unusual

    walk(value, "")
    return "".join(parts)
