"""The canonical cache-key recipe and the project's one hashing function.

The cache is the lowest layer, so blake3 helpers live here and the packer imports them
(nothing here may import ``packer_tasks``). A key is blake3 over one canonical JSON
spelling of the key material, so the same inputs give the same key on any machine, in
any folder, whatever the dict insertion order.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import blake3

__all__ = [
    "CHUNK_SIZE",
    "KEY_RECIPE_VERSION",
    "blake3_file",
    "blake3_hex",
    "cache_key",
    "canonical_bytes",
    "diff_material",
]

# Bump when the encoding below changes meaning, so old entries simply stop matching.
KEY_RECIPE_VERSION = 1

# Streaming chunk for file hashing: big enough to be fast, small enough to bound memory.
CHUNK_SIZE = 1 << 20

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def blake3_hex(data: bytes | bytearray | memoryview) -> str:
    """Hex blake3 of bytes; the single digest used for inputs, payloads and keys."""
    return blake3.blake3(data).hexdigest()


def blake3_file(path: str | os.PathLike[str]) -> str:
    """Hex blake3 of a file, read in 1 MiB chunks so big inputs never sit in memory."""
    hasher = blake3.blake3()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


def _path_join(where: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{where}[{part}]"
    if _PLAIN_KEY.fullmatch(part):
        return f"{where}.{part}" if where else part
    # Keys with dots, brackets or spaces are quoted so the path stays unambiguous.
    return f"{where}[{json.dumps(part, ensure_ascii=False)}]"


def _normalize(value: Any, where: str) -> Any:
    """Plain JSON tree of `value`; refuses anything whose encoding could drift or collide."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise ValueError(
            f"float at {where or '<root>'} is not allowed in cache-key material "
            "(float spelling is not a stable key; use an int or a string)"
        )
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                # json.dumps would silently turn 1 into "1" and collide with it.
                raise ValueError(
                    f"non-string key {key!r} at {where or '<root>'} in cache-key material"
                )
            out[key] = _normalize(item, _path_join(where, key))
        return out
    if isinstance(value, list | tuple):
        return [_normalize(item, _path_join(where, i)) for i, item in enumerate(value)]
    raise ValueError(
        f"{type(value).__name__} at {where or '<root>'} is not JSON cache-key material"
    )


def canonical_bytes(value: Any) -> bytes:
    """Compact, key-sorted, UTF-8 JSON; the only spelling that is ever hashed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def cache_key(material: Mapping[str, Any]) -> str:
    """Cache key for everything that affects a payload (SPEC §11).

    Raises ValueError on floats, non-string keys, non-JSON values or a caller-supplied
    ``recipe`` entry, because any of those would make keys unstable or ambiguous.
    """
    if "recipe" in material:
        raise ValueError("'recipe' is reserved in cache-key material")
    tree = _normalize(material, "")
    return blake3_hex(canonical_bytes({"recipe": KEY_RECIPE_VERSION, **tree}))


def _same_scalar(old: Any, new: Any) -> bool:
    # True == 1 in Python, but they encode (and therefore key) differently.
    return type(old) is type(new) and bool(old == new)


def _diff(old: Any, new: Any, where: str, out: list[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            path = _path_join(where, str(key))
            if key not in old or key not in new:
                out.append(path)
            else:
                _diff(old[key], new[key], path, out)
    elif isinstance(old, list | tuple) and isinstance(new, list | tuple):
        for i in range(max(len(old), len(new))):
            path = _path_join(where, i)
            if i >= len(old) or i >= len(new):
                out.append(path)
            else:
                _diff(old[i], new[i], path, out)
    elif (
        isinstance(old, Mapping | list | tuple)
        or isinstance(new, Mapping | list | tuple)
        or not _same_scalar(old, new)
    ):
        out.append(where or "<root>")


def diff_material(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Dotted paths where two key materials differ, e.g. ``artifacts[2].digest``.

    Used to explain why an asset rebuilt. Paths come in sorted-key / index order; a key
    or list element present on one side only is reported at its own path.
    """
    out: list[str] = []
    _diff(old, new, "", out)
    return out
