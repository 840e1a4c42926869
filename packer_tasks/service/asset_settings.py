"""`set ASSET KEY VALUE…`: one edit of an asset's declaration, as a pure function.

Each setting turns the declaration (as its JSON object) into a new one and says in words
what changed; a value that makes no sense raises SettingError. Reading a palette from an
image is the one place that opens a file (the image named on the command line).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS = ("tile-size", "palette", "preload", "loop", "order", "add", "remove", "name")
_HEX = re.compile(r"#?[0-9a-fA-F]{6}")


class SettingError(Exception):
    """A setting or value that cannot apply to this asset (the message says why)."""


@dataclass(frozen=True)
class SettingEdit:
    """A changed declaration, what changed in words, and files to copy into the root."""

    declaration: dict[str, Any]
    description: str
    copy_in: tuple[Path, ...] = ()


def edit(
    decl: dict[str, Any], key: str, values: Sequence[str], slot: int | None = None
) -> SettingEdit:
    """Apply one setting to a copy of `decl` (asset.json as a dict)."""
    new = copy.deepcopy(decl)
    family = new.get("type")
    if key == "tile-size":
        _need(family, "glyph_bank", key)
        size = _one_int(values, key)
        if size not in (8, 16, 32):
            raise SettingError("tile-size must be 8, 16 or 32")
        old = new["output"]["metadata"].get("tile_size")
        new["output"]["metadata"]["tile_size"] = size
        return SettingEdit(new, f"tile_size {old} → {size}")
    if key == "palette":
        _need(family, "glyph_bank", key)
        colors = palette_from(values)
        if colors is None:
            new["output"]["pipeline"].pop("palettes", None)
            return SettingEdit(new, "palette 0 derived from the tiles (none declared)")
        new["output"]["pipeline"]["palettes"] = [{"index": 0, "palette": {"colors": colors}}]
        return SettingEdit(new, f"palette 0 = {' '.join(colors)}")
    if key == "preload":
        return _preload(new, values, slot)
    if key == "loop":
        _need(family, "sound_bank", key)
        return _loop(new, values)
    if key == "order":
        return _order(new, values)
    if key == "add":
        return _add(new, values)
    if key == "remove":
        return _remove(new, values)
    if key == "name":
        label = " ".join(values).strip()
        if not label:
            raise SettingError("name needs a label")
        new["name"] = label
        return SettingEdit(new, f"name → {label!r}")
    raise SettingError(f"unknown setting {key!r}; use one of {', '.join(SETTINGS)}")


def _need(family: Any, wanted: str, key: str) -> None:
    if family != wanted:
        raise SettingError(f"{key} applies to a {wanted}, and this asset is a {family}")


def _one_int(values: Sequence[str], key: str) -> int:
    if len(values) != 1 or not values[0].isdigit():
        raise SettingError(f"{key} takes one whole number")
    return int(values[0])


def palette_from(values: Sequence[str]) -> list[str] | None:
    """`#rrggbb …` (spaces or commas), an image's colours, or `derive` (None)."""
    words = [w for v in values for w in v.replace(",", " ").split()]
    if words == ["derive"] or words == ["none"]:
        return None
    if len(words) == 1 and not _HEX.fullmatch(words[0]):
        return _palette_of_image(Path(words[0]))
    bad = [w for w in words if not _HEX.fullmatch(w)]
    if not words or bad:
        raise SettingError(
            "palette takes colours like #000000 #ff0044, an image file, or `derive`"
            + (f" ({bad[0]!r} is none of these)" if bad else "")
        )
    if len(words) > 16:
        raise SettingError(f"a palette holds at most 16 colours, not {len(words)}")
    return ["#" + w.lstrip("#").lower() for w in words]


def _palette_of_image(path: Path) -> list[str]:
    """An indexed image's first 16 entries; otherwise black (transparency) and then the
    image's distinct opaque colours in order of appearance."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode == "P":
                raw = (img.getpalette() or [])[: 16 * 3]
                colours = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
            else:
                colours = [(0, 0, 0)]
                data = img.convert("RGBA").tobytes()
                for i in range(0, len(data), 4):
                    rgb = (data[i], data[i + 1], data[i + 2])
                    if data[i + 3] and rgb not in colours:
                        colours.append(rgb)
    except (OSError, UnidentifiedImageError) as exc:
        raise SettingError(f"cannot read colours from {path}: {exc}") from None
    if len(colours) > 16:
        raise SettingError(f"{path} has {len(colours) - 1} colours besides black; at most 15 fit")
    return ["#{:02x}{:02x}{:02x}".format(*c) for c in colours]


def _preload(new: dict[str, Any], values: Sequence[str], slot: int | None) -> SettingEdit:
    if values not in (["on"], ["off"], ("on",), ("off",)):
        raise SettingError("preload takes on or off (and --slot N with on)")
    on = values[0] == "on"
    if not on and slot is not None:
        raise SettingError("--slot goes with preload on")
    new["preload"] = {"enabled": on, **({"slot": slot} if slot is not None else {})}
    return SettingEdit(
        new, "preload " + ("on" if on else "off") + (f", slot {slot}" if slot is not None else "")
    )


def _artifact(new: dict[str, Any], name: str) -> dict[str, Any]:
    found = [a for a in new["artifacts"] if a["file"] == name or str(a["index"]) == name]
    if not found:
        files = ", ".join(a["file"] for a in new["artifacts"])
        raise SettingError(f"no artifact {name!r} (artifacts: {files})")
    result: dict[str, Any] = found[0]
    return result


def _loop(new: dict[str, Any], values: Sequence[str]) -> SettingEdit:
    if len(values) == 2 and values[1] == "off":
        art = _artifact(new, values[0])
        art.pop("loop_start", None)
        art.pop("loop_end", None)
        return SettingEdit(new, f"{art['file']}: no loop")
    if len(values) != 3 or not (values[1].isdigit() and values[2].isdigit()):
        raise SettingError("loop takes ARTIFACT START END (frames), or ARTIFACT off")
    start, end = int(values[1]), int(values[2])
    if start >= end:
        raise SettingError(f"loop start {start} must be before its end {end}")
    art = _artifact(new, values[0])
    art["loop_start"], art["loop_end"] = start, end
    return SettingEdit(new, f"{art['file']}: loop frames {start}..{end}")


def _order(new: dict[str, Any], values: Sequence[str]) -> SettingEdit:
    names = [n for v in values for n in v.split(",") if n]
    current = {a["file"]: a for a in new["artifacts"]}
    if sorted(names) != sorted(current) or len(set(names)) != len(names):
        raise SettingError("order lists every artifact once: " + ", ".join(sorted(current)))
    new["artifacts"] = [{**current[n], "index": i} for i, n in enumerate(names)]
    return SettingEdit(new, "artifact order " + ", ".join(names))


def _role(new: dict[str, Any]) -> str:
    return "tiles" if new.get("type") == "glyph_bank" else "samples"


def _add(new: dict[str, Any], values: Sequence[str]) -> SettingEdit:
    if not values:
        raise SettingError("add takes one or more files")
    files = [Path(v) for v in values]
    role = new["inputs"].setdefault(_role(new), [])
    taken = {a["file"] for a in new["artifacts"]} | set(role)
    for f in files:
        if not f.is_file():
            raise SettingError(f"{f} is not a file")
        if f.name in taken:
            raise SettingError(f"{f.name} is already an input of this asset")
        taken.add(f.name)
        role.append(f.name)
        new["artifacts"].append({"index": len(new["artifacts"]), "file": f.name})
    return SettingEdit(new, "added " + ", ".join(f.name for f in files), tuple(files))


def _remove(new: dict[str, Any], values: Sequence[str]) -> SettingEdit:
    if not values:
        raise SettingError("remove takes one or more artifact files")
    gone = {_artifact(new, v)["file"] for v in values}
    kept = [a for a in sorted(new["artifacts"], key=lambda a: a["index"]) if a["file"] not in gone]
    new["artifacts"] = [{**a, "index": i} for i, a in enumerate(kept)]
    new["inputs"] = {
        role: [p for p in paths if p not in gone] for role, paths in new["inputs"].items()
    }
    return SettingEdit(new, "removed " + ", ".join(sorted(gone)) + " (files stay on disk)")
